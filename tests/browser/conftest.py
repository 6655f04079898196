"""Browser tests reuse the web fixtures: the app on the test database and the world of denials."""

from tests.web.conftest import app, cheap_password_hashing, world  # noqa: F401
