"""Property: any byte mutation of a valid 835 reads cleanly or raises X12Error, nothing else."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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
    assert all(read_all(seed) > 0 for seed in SEEDS[:4])
