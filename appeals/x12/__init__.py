"""X12 835 reading: tokenizer, reader and the plain objects they produce."""

from appeals.x12.errors import X12Error
from appeals.x12.reader import iter_remittance, read_payments

__all__ = ["X12Error", "iter_remittance", "read_payments"]
