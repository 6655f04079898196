"""Property: any byte mutation of a valid 835 reads cleanly or raises X12Error, nothing else; and
an import of one stores it whole or not at all. The long run is benchmarks/bench_fuzz.py."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlmodel import SQLModel

from appeals.importer import import_file
from appeals.x12 import X12Error, iter_remittance
from appeals.x12.jsonout import claim_to_dict, header_to_dict
from appeals.x12.model import Claim, PaymentHeader

ROOT = Path(__file__).resolve().parent.parent.parent
SEEDS = [
    (ROOT / "tests" / "fixtures" / "x12" / "valid_derm.835").read_bytes(),
    (ROOT / "data" / "samples" / "edi835__emedny_sample.835").read_bytes(),  # one line
    (ROOT / "data" / "samples" / "tigershark__5010-835-example-1.835").read_bytes(),  # `|` comp
    (ROOT / "data" / "samples" / "tastyx12__multi-line-not-delimited.835").read_bytes(),  # \n
    (ROOT / "data" / "samples" / "oopx12__835_WithMultipleInterchanges.835").read_bytes()[:9000],
    (ROOT / "data" / "samples" / "edi835__blue_cross_nc_sample.835").read_bytes(),  # no ISA
    (ROOT / "data" / "samples" / "oopx12__Example1_5010.835").read_bytes(),  # a cut-off claim
]
# Two interchanges of the fixture, the second with other delimiters (`|` `>` `!`).
SEEDS.append(
    SEEDS[0]
    + SEEDS[0]
    .replace(b"*", b"|")
    .replace(b"|:~", b"|>~")
    .replace(b"HC:", b"HC>")
    .replace(b"L6:", b"L6>")
    .replace(b"~", b"!")
)
# Values at and beyond what the database stores, and dates no deadline is counted from.
BOUNDARY = [
    b"9999999999999999999",
    b"1000000000000",
    b"999999999999.99",
    b"-999999999999.995",
    b"1000000000",
    b"1.005",
    b"-0.005",
    b"0.0001",
    b"99991231",
    b"18991231",
    b"",
]
# Bytes that matter to X12: delimiters, line breaks, digits, letters, BOM, invalid UTF-8.
INTERESTING = list(b"*:~^|>\r\n -.0123456789ISAGSTCLPVB") + [0xEF, 0xBB, 0xBF, 0xFF, 0x00, 0x80]

mutation = st.tuples(
    st.sampled_from(["flip", "insert", "delete", "replace", "truncate", "duplicate"]),
    st.floats(min_value=0, max_value=1, allow_nan=False),
    st.one_of(st.sampled_from(INTERESTING), st.integers(0, 255)),
)


def mutate(data: bytes, steps: list[tuple[str, float, int]]) -> bytes:
    buf = bytearray(data)
    for kind, where, byte in steps:
        if not buf:
            break
        i = min(int(where * len(buf)), len(buf) - 1)
        if kind == "flip":
            buf[i] ^= 1 << (byte % 8)
        elif kind == "insert":
            buf.insert(i, byte)
        elif kind == "delete":
            del buf[i : i + 1 + byte % 8]
        elif kind == "replace":
            buf[i] = byte
        elif kind == "truncate":
            del buf[i:]
        else:
            buf[i:i] = buf[max(0, i - 40) : i]
    return bytes(buf)


def read_all(data: bytes) -> int:
    count = 0
    for item in iter_remittance(data, "fuzz.835"):
        # The JSON shape must be buildable from whatever was read.
        if isinstance(item, Claim):
            claim_to_dict(item)
        elif isinstance(item, PaymentHeader):
            header_to_dict(item)
        count += 1
    return count


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.sampled_from(range(len(SEEDS))), steps=st.lists(mutation, min_size=1, max_size=6))
def test_mutations_parse_or_raise_x12error(seed: int, steps: list[tuple[str, float, int]]) -> None:
    data = mutate(SEEDS[seed], steps)
    try:
        read_all(data)
    except X12Error as err:
        assert err.message
        assert err.segment >= 0


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=400))
def test_random_bytes_parse_or_raise_x12error(data: bytes) -> None:
    try:
        read_all(data)
    except X12Error as err:
        assert err.message


@settings(max_examples=150, deadline=None)
@given(cut=st.integers(min_value=0, max_value=len(SEEDS[0])))
def test_every_truncation_is_an_x12error_or_a_whole_file(cut: int) -> None:
    data = SEEDS[0][:cut]
    try:
        read_all(data)
    except X12Error:
        return
    # Only cuts in the trailing line break leave a complete interchange.
    assert data.rstrip() == SEEDS[0].rstrip()


def test_seeds_read_cleanly() -> None:
    assert all(read_all(seed) > 0 for seed in SEEDS[:4] + SEEDS[-1:])


def replace_number(data: bytes, where: float, value: bytes) -> bytes:
    """The number (digits, dot, sign) nearest after `where` replaced by value."""
    numbers = list(re.finditer(rb"-?[0-9][0-9.]*", data))
    if not numbers:
        return data
    match = numbers[min(int(where * len(numbers)), len(numbers) - 1)]
    return data[: match.start()] + value + data[match.end() :]


@settings(max_examples=150, deadline=None)
@given(
    seed=st.sampled_from(range(len(SEEDS))),
    edits=st.lists(
        st.tuples(st.floats(0, 1, allow_nan=False), st.sampled_from(BOUNDARY)),
        min_size=1,
        max_size=3,
    ),
)
def test_boundary_numbers_read_or_raise_x12error(
    seed: int, edits: list[tuple[float, bytes]]
) -> None:
    data = SEEDS[seed]
    for where, value in edits:
        data = replace_number(data, where, value)
    try:
        read_all(data)
    except X12Error as err:
        assert err.message and err.segment >= 0


def high_water(engine) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
    tables = [t for t in SQLModel.metadata.sorted_tables if "id" in t.c]
    query = sa.select(*[sa.select(sa.func.max(t.c.id)).scalar_subquery() for t in tables])
    with engine.connect() as connection:
        return tuple(connection.execute(query).one())


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    seed=st.sampled_from([0, 1, len(SEEDS) - 1]),
    steps=st.lists(mutation, min_size=1, max_size=3),
    number=st.tuples(st.floats(0, 1, allow_nan=False), st.sampled_from(BOUNDARY)),
)
def test_mutated_files_import_whole_or_not_at_all(
    engine, tmp_path_factory, seed: int, steps: list[tuple[str, float, int]], number
) -> None:
    data = replace_number(mutate(SEEDS[seed], steps), *number)
    try:
        read_all(data)
        refused = ""
    except X12Error as err:
        refused = str(err)
    path = tmp_path_factory.mktemp("fuzz") / "fuzz.835"
    path.write_bytes(data)
    before = high_water(engine)
    result = import_file(engine, path, name="fuzz.835", today=date(2026, 3, 20))
    if result.status == "failed":
        assert high_water(engine) == before  # nothing of the file was stored
    if refused:
        assert (result.status, result.error) == ("failed", refused)
    else:
        assert result.status in ("imported", "duplicate"), result.error
