"""Promises the project keeps about itself."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import SQLModel

from appeals.models import Money

ROOT = Path(__file__).resolve().parents[2]
# appeals/__init__.py only imports the web factory lazily, inside create_app.
WEB_SIDE = {"appeals/web", "appeals/commands", "appeals/cli.py", "appeals/__init__.py"}


def test_the_domain_core_never_imports_flask() -> None:
    offenders = []
    for path in sorted((ROOT / "appeals").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if any(relative.startswith(prefix) for prefix in WEB_SIDE):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            if any(
                n.split(".")[0] in {"flask", "flask_login", "flask_wtf", "click"} for n in names
            ):
                offenders.append(relative)
    assert offenders == []


def test_the_migrations_create_exactly_the_models(engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_every_cli_command_is_in_the_readme() -> None:
    from appeals.cli import main

    readme = (ROOT / "README.md").read_text()
    missing = [name for name in main.commands if f"appeals {name}" not in readme]
    assert missing == [], f"commands missing from README.md: {missing}"


def test_sql_errors_never_quote_the_values(engine) -> None:
    """A failed statement's message (which may reach a log or the CLI) leaves parameters out."""
    with pytest.raises(sa.exc.DBAPIError) as caught, engine.connect() as connection:
        connection.execute(
            sa.text("INSERT INTO no_such_table (name) VALUES (:name)"), {"name": "Zebulon"}
        )
    message = str(caught.value)
    assert "no_such_table" in message and "Zebulon" not in message


def test_money_binds_exact_cents_on_sqlite_and_exact_decimals_elsewhere() -> None:
    money = Money()
    sqlite_dialect, postgres_dialect = sqlite.dialect(), postgresql.dialect()
    cases = [("12.34", 1234), (Decimal("12.3"), 1230), (Decimal("1.005"), 100), (7, 700)]
    for value, cents in cases:
        assert money.process_bind_param(value, sqlite_dialect) == cents
        exact = money.process_bind_param(value, postgres_dialect)
        assert exact == Decimal(cents) / 100 and exact.as_tuple().exponent == -2
    assert money.process_bind_param(None, sqlite_dialect) is None


def _module_of(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _import_graph() -> dict[str, dict[str, bool]]:
    """Each appeals module → the appeals modules it imports, True where at module level."""
    paths = {_module_of(p): p for p in (ROOT / "appeals").rglob("*.py")}

    def resolve(name: str) -> str | None:
        while name and name not in paths:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, dict[str, bool]] = {}
    for module, path in paths.items():
        tree = ast.parse(path.read_text())
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        top = {id(node) for node in tree.body}
        edges: dict[str, bool] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                targets = [resolve(alias.name) for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*parent, base] if base else parent)
                targets = [resolve(f"{base}.{alias.name}") or resolve(base) for alias in node.names]
            else:
                continue
            for target in targets:
                if target and target != module:
                    edges[target] = edges.get(target, False) or id(node) in top
        graph[module] = edges
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle as a path ('a', 'b', 'a'), or [] when the graph is acyclic."""
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return [*path[path.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        path.pop()
        state[node] = 2
        return []

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_every_appeals_module_imports_and_none_imports_one_that_imports_it_back() -> None:
    """No import cycles among appeals modules, at module level or inside functions.

    The one allowance: a package's `__init__` may import its own submodules inside a function
    (the web app factory registering its blueprints), since a submodule always loads after its
    package anyway.
    """
    import importlib

    graph = _import_graph()
    for module in sorted(graph):
        importlib.import_module(module)
    top_level = {m: {t for t, top in edges.items() if top} for m, edges in graph.items()}
    assert _cycle(top_level) == [], "module-level import cycle"
    every = {
        m: {t for t in edges if not (t.startswith(f"{m}.") and not edges[t])}
        for m, edges in graph.items()
    }
    assert _cycle(every) == [], "import cycle through an import inside a function"
