"""The streaming tokenizer: delimiters from ISA, line breaks, several interchanges, chunk edges."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from appeals.x12 import X12Error, tokenizer
from appeals.x12.tokenizer import Tokenizer, iter_segments

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "x12"
SAMPLES = Path(__file__).resolve().parent.parent.parent / "data" / "samples"

ISA = (
    "ISA*00*          *00*          *ZZ*SENDER         *ZZ*RECEIVER       "
    "*250301*1200*^*00501*000000001*0*T*:~"
)


def isa(elem: str = "*", comp: str = ":", term: str = "~", control: str = "000000001") -> str:
    return ISA.replace("*", elem).replace(":~", comp + term).replace("000000001", control)


def segments(data: bytes | str) -> list[tuple[int, list[str]]]:
    if isinstance(data, str):
        data = data.encode()
    return list(iter_segments(data, "test.835"))


def test_it_reads_delimiters_from_a_standard_isa() -> None:
    tok = Tokenizer(io.BytesIO((ISA + "GS*HP~").encode()), "t")
    [(elem, batch)] = list(tok)
    assert tok.delimiters == tokenizer.Delimiters("*", ":", "^", "~")
    assert elem == "*" and batch[1] == "GS*HP"
    assert batch[0].split("*")[16] == ":"
    assert tok.notes == []


def test_it_walks_separators_on_an_unpadded_isa() -> None:
    text = "ISA*00* *00* *ZZ*NVMED *ZZ*99999999*180613*1230*^*00501*100000300*0*P*:~GS*HP~"
    tok = Tokenizer(io.BytesIO(text.encode()), "t")
    segs = [s for _, batch in tok for s in batch]
    assert segs[1] == "GS*HP"
    assert tok.delimiters is not None and tok.delimiters.component == ":"
    assert [n.code for n in tok.notes] == ["isa-not-fixed-width"]


def test_it_handles_other_delimiters() -> None:
    text = isa("|", "^", "!") + "GS|HP|A^B!ST|835|1!"
    assert [s for _, s in segments(text)][1:] == [["GS", "HP", "A^B"], ["ST", "835", "1"]]


def test_it_strips_bom_leading_blank_lines_crlf_and_indentation() -> None:
    text = "\ufeff\r\n  " + ISA + "\r\n  GS*HP~\r\n\r\n    ST*835*1~\r\n"
    assert [s[0] for _, s in segments(text)] == ["ISA", "GS", "ST"]


def test_newline_as_terminator() -> None:
    text = isa(term="\n") + "GS*HP\nST*835*1\nSE*2*1"
    result = segments(text)
    assert [s for _, s in result][1:] == [["GS", "HP"], ["ST", "835", "1"], ["SE", "2", "1"]]


def test_crlf_as_terminator() -> None:
    text = isa(term="\r") + "\nGS*HP\r\nST*835*1\r\n"
    assert [s for _, s in segments(text)][1:] == [["GS", "HP"], ["ST", "835", "1"]]


def test_terminator_written_at_the_start_of_each_line() -> None:
    text = isa("|", "^", "\n") + "~GS|HP\n~ST|835|1\n~"
    assert [s for _, s in segments(text)][1:] == [["GS", "HP"], ["ST", "835", "1"]]


def test_ordinals_count_segments_across_the_file() -> None:
    text = ISA + "GS*HP~ST*835*1~SE*2*1~"
    assert [n for n, _ in segments(text)] == [1, 2, 3, 4]


def test_several_interchanges_with_different_delimiters() -> None:
    first = ISA + "GS*HP*A:B~GE*0*1~IEA*0*000000001~"
    second = isa("|", ">", "!", "000000002") + "GS|HP|C>D!GE|0|1!IEA|0|000000002!"
    third = "\r\n" + ISA.replace("000000001", "000000003") + "GS*HP~"
    result = [s for _, s in segments(first + second + third)]
    assert [s[0] for s in result] == ["ISA", "GS", "GE", "IEA"] * 2 + ["ISA", "GS"]
    assert result[5] == ["GS", "HP", "C>D"]
    assert result[4][16] == ">"
    assert result[8][13] == "000000003"


@pytest.mark.parametrize("chunk", [1, 7, 106, 4096])
def test_chunk_edges_do_not_change_the_segments(
    monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    data = (SAMPLES / "oopx12__835_WithMultipleInterchanges.835").read_bytes()
    expected = segments(data)
    monkeypatch.setattr(tokenizer, "CHUNK_SIZE", chunk)
    assert segments(data) == expected
    assert len(expected) > 600


def test_utf8_split_across_chunks_and_invalid_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokenizer, "CHUNK_SIZE", 3)
    data = (ISA + "N1*PR*CAFÉ PLAN~N1*PE*").encode() + b"\xff\xfe~"
    result = [s for _, s in segments(data)]
    assert result[1] == ["N1", "PR", "CAFÉ PLAN"]
    assert result[2][2] == "\ufffd\ufffd"


def test_a_file_starting_at_st_gets_default_delimiters_and_a_note() -> None:
    tok = Tokenizer(io.BytesIO(b"ST*835*1234~BPR*I*1~SE*3*1234~"), "t")
    segs = [s for _, batch in tok for s in batch]
    assert segs[0] == "ST*835*1234"
    assert not tok.envelope
    assert [n.code for n in tok.notes] == ["no-envelope"]


@pytest.mark.parametrize(
    ("data", "segment", "message"),
    [
        (b"", 0, "empty file"),
        (b"\r\n \t", 0, "empty file"),
        (b"hello world", 1, "not an X12"),
        (b"ISA*00*  *00", 1, "truncated ISA"),
        ((ISA + "GS*HP~ST*835").encode(), 3, "no terminator"),
        (ISA.replace(":~", "::").encode(), 1, "invalid segment terminator"),
        (ISA.replace("*00*", "A00A", 1).encode(), 1, "invalid element separator"),
    ],
)
def test_malformed_input_raises_x12error(data: bytes, segment: int, message: str) -> None:
    with pytest.raises(X12Error) as info:
        segments(data)
    assert info.value.segment == segment
    assert message in info.value.message


def test_a_runaway_segment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tokenizer, "CHUNK_SIZE", 64)
    monkeypatch.setattr(tokenizer, "MAX_SEGMENT", 200)
    with pytest.raises(X12Error, match="no segment terminator") as info:
        segments(ISA + "GS*HP~N1*" + "X" * 1000)
    assert info.value.segment == 3


def test_it_reads_paths_and_missing_files(tmp_path: Path) -> None:
    path = tmp_path / "a.835"
    path.write_text(ISA + "GS*HP~")
    assert len(list(iter_segments(str(path)))) == 2
    with pytest.raises(X12Error, match="cannot open"):
        list(iter_segments(str(tmp_path / "missing.835")))


def test_the_fixture_files_tokenize() -> None:
    result = segments((FIXTURES / "valid_derm.835").read_bytes())
    assert result[-1] == (38, ["IEA", "1", "000000101"])


# (element, component, repetition, terminator, line break) sets that interchanges alternate.
DELIMITER_SETS = [("*", ":", "^", "~", "\n"), ("|", ">", "^", "!", ""), ("^", "\\", "{", "\n", "")]


def interchange(i: int, elem: str, comp: str, rep: str, term: str, newline: str) -> str:
    """A small synthetic 835 interchange (one claim) written with the given delimiters."""
    control = f"{i:09d}"
    fields = ISA.split("*")[:16]  # ISA00 to ISA15
    fields[11], fields[13] = rep, control
    head = elem.join(fields) + elem + comp + term
    body = [
        f"GS*HP*PAYER*CLINIC*20250301*1200*{i}*X*005010X221A1",
        "ST*835*0001",
        "BPR*I*100.00*C*ACH*CCP*01*999999999*DA*1*1999999999**01*888888888*DA*2*20250305",
        f"TRN*1*EFT{i}*1999999999",
        "N1*PR*SYNTHETIC PLAN",
        "N1*PE*EXAMPLE DERM*XX*1234567893",
        "LX*1",
        f"CLP*DERM-{i}*1*120.00*100.00*0*12*ICN{i}*11*1",
        "NM1*QC*1*TESTPATIENT*ALEX****MI*W1",
        "SVC*HC:11102*120.00*100.00**1",
        "CAS*CO*45*20.00",
        "SE*11*0001",
        f"GE*1*{i}",
        f"IEA*1*{control}",
    ]
    segs = [s.replace(":", comp).replace("*", elem) for s in body]
    return head + newline + "".join(s + term + newline for s in segs)


def alternating(count: int) -> str:
    return "".join(
        interchange(i, *DELIMITER_SETS[i % len(DELIMITER_SETS)]) for i in range(1, count + 1)
    )


@pytest.mark.parametrize("chunk", [64, 1000, 1 << 20])
def test_interchanges_alternating_delimiters_read_right_in_linear_work(
    monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    from appeals.x12 import read_payments

    monkeypatch.setattr(tokenizer, "CHUNK_SIZE", chunk)
    split = Tokenizer._split
    work = [0]

    def counting(full: str, term: str) -> list[str]:
        work[0] += len(full)
        return split(full, term)

    monkeypatch.setattr(Tokenizer, "_split", staticmethod(counting))
    text = alternating(300)
    result = segments(text)
    assert len(result) == 300 * 15
    assert [n for n, _ in result] == list(range(1, 300 * 15 + 1))
    for k in range(300):
        isa_seg, *rest = [s for _, s in result[k * 15 : (k + 1) * 15]]
        assert isa_seg[0] == "ISA" and len(isa_seg) == 17 and isa_seg[13] == f"{k + 1:09d}"
        assert [s[0] for s in rest] == (
            ["GS", "ST", "BPR", "TRN", "N1", "N1", "LX"]
            + ["CLP", "NM1", "SVC", "CAS", "SE", "GE", "IEA"]
        )
        assert rest[9][1].split(isa_seg[16]) == ["HC", "11102"]
    # Each character is split about once however often the delimiters change (re-splitting the
    # rest of a chunk at each change made this quadratic).
    assert work[0] <= 2 * len(text) + 300 * 4096
    payments = read_payments(text.encode(), "alternating.835")
    assert len(payments) == 300
    assert [p.claims[0].patient_control_number for p in payments] == [
        f"DERM-{i}" for i in range(1, 301)
    ]
    assert all(not p.all_warnings for p in payments)
