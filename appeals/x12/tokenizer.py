"""Streaming X12 tokenizer: bytes in, batches of segments (lists of element strings) out.

The file is read in chunks (1 MiB by default) and decoded as UTF-8 with invalid bytes replaced, so
any byte sequence decodes. Delimiters come from each ISA segment (element separator = ISA
character 3, component separator = the character after the 16th element separator, terminator =
the one after that), so unpadded ISA segments and several interchanges with different delimiters
work. CR, LF, tabs and spaces around segments are dropped; a newline may be the terminator.

A file that starts at `ST` (no ISA envelope) is accepted with inferred delimiters: element separator
= the character after `ST`, terminator = the first punctuation or newline after the ST control
number, component separator `:`, repetition `^`. The tokenizer records that as an `Issue` in
`notes` so the reader can put it on the payment: it is never silent.

Segments are yielded in batches, `(element separator, [segment text, ...])` per chunk, because a
generator step per segment costs more than the segment's split. The caller splits elements one
segment at a time: a chunk's worth of live element lists would wake the cyclic garbage collector
again and again (it made parsing 3x slower). Segment ordinals (1-based, over the whole file) are
the caller's running count; `count` holds how many were yielded so far.
"""

from __future__ import annotations

import codecs
import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from appeals.x12.errors import X12Error
from appeals.x12.model import Issue

CHUNK_SIZE = 1 << 20
# A segment longer than this with no terminator in sight means the terminator is wrong or the
# input is not X12; stop instead of buffering a 500 MB "segment".
MAX_SEGMENT = 1 << 20
_WHITESPACE = " \t\r\n"
_BOM = "\ufeff"

Segment = list[str]


@dataclass(slots=True, frozen=True)
class Delimiters:
    element: str
    component: str
    repetition: str
    terminator: str


DEFAULT_DELIMITERS = Delimiters("*", ":", "^", "~")


def _is_delimiter(ch: str) -> bool:
    """A usable delimiter: one printable non-alphanumeric character or a newline, not a space."""
    return len(ch) == 1 and not ch.isalnum() and ch != " " and ch != "\ufffd"


class Tokenizer:
    """Iterate an X12 file as batches of segments; see the module docstring."""

    def __init__(self, source: str | os.PathLike[str] | BinaryIO, name: str | None = None) -> None:
        if isinstance(source, str | os.PathLike):
            self.name = name or os.fspath(source)
            self._path: str | None = os.fspath(source)
            self._stream: BinaryIO | None = None
        else:
            self.name = name or str(getattr(source, "name", "<stream>"))
            self._path = None
            self._stream = source
        self.count = 0
        self.delimiters: Delimiters | None = None
        self.notes: list[Issue] = []
        self.envelope = True

    def _error(self, message: str, segment_id: str = "", offset: int = 1) -> X12Error:
        return X12Error(self.name, self.count + offset, segment_id, message)

    def __iter__(self) -> Iterator[tuple[str, list[str]]]:
        if self._path is not None:
            try:
                stream = open(self._path, "rb")  # noqa: SIM115 - closed in finally
            except OSError as exc:
                raise X12Error(self.name, 0, "", f"cannot open file: {exc.strerror}") from None
            try:
                yield from self._batches(stream)
            finally:
                stream.close()
        else:
            assert self._stream is not None
            yield from self._batches(self._stream)

    def _read(self, stream: BinaryIO, decoder: codecs.IncrementalDecoder) -> str | None:
        """The next decoded chunk, None at end of file."""
        try:
            data = stream.read(CHUNK_SIZE)
        except OSError as exc:
            raise self._error(f"cannot read file: {exc}") from None
        if not data:
            return None
        return decoder.decode(data)

    def _batches(self, stream: BinaryIO) -> Iterator[tuple[str, list[str]]]:
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        ws = _WHITESPACE
        buf = ""
        eof = False
        first = True
        detect = True  # delimiters must be (re)detected from the ISA at the start of buf
        skip_isa = False  # the first segment of buf is the ISA just detected
        elem = term = ""
        while True:
            if detect:
                while not eof and len(buf) < 4096:
                    text = self._read(stream, decoder)
                    if text is None:
                        eof = True
                        text = decoder.decode(b"", final=True)
                    buf += text
                buf = buf.lstrip(_BOM + ws) if first else buf.lstrip(ws)
                if first:
                    if not buf:
                        raise X12Error(self.name, 0, "", "empty file: no X12 content")
                    if buf.startswith("ISA"):
                        delims = self._isa_delimiters(buf, 1)
                    elif buf.startswith("ST") and len(buf) > 3 and _is_delimiter(buf[2]):
                        delims = self._bare_st_delimiters(buf)
                    else:
                        head = buf[:3].split("*", 1)[0]
                        seg_id = (
                            head if head.isascii() and head.isalnum() and head.isupper() else ""
                        )
                        raise X12Error(
                            self.name,
                            1,
                            seg_id,
                            "not an X12 interchange: the file must start with an ISA segment",
                        )
                    first = False
                else:
                    delims = self._isa_delimiters(buf, self.count + 1)
                self.delimiters = delims
                elem, term = delims.element, delims.terminator
                detect = False
                skip_isa = True
            if eof:
                text = ""
            else:
                text = self._read(stream, decoder)
                if text is None:
                    eof = True
                    text = decoder.decode(b"", final=True)
            full = buf + text
            truncated = ""
            newline = "\r\n" if "\r" in full else "\n"
            # Where an ISA can start a segment, to look for a next interchange.
            isa_marks = (term + "ISA", "\nISA", " ISA", "\tISA")
            # A one-character search is far cheaper than a two-character one: most chunks of
            # a machine-written file have no space at all, so skip the space-pair searches.
            spaces = " " in full
            if term in "\r\n" or "\t" in full or (spaces and " " + term in full) or full[:1] == " ":
                parts = self._split_strip(full, term)
            elif newline in full:
                # The usual layout, one segment a line: when every line break follows a
                # terminator, splitting on both equals splitting and stripping (and is faster).
                parts = full.split(term + newline)
                count = len(parts) - 1
                ends = full[-1:] == term
                if (
                    full.count("\n") == count
                    and full.count(term) == count + ends
                    and (newline == "\n" or full.count("\r") == count)
                    and not (spaces and newline + " " in full)
                ):
                    if ends:
                        parts[-1] = parts[-1][:-1]
                        parts.append("")
                    isa_marks = ("\nISA",)
                else:
                    parts = self._split_strip(full, term)
            elif "\r" in full or (spaces and term + " " in full):
                parts = self._split_strip(full, term)
            else:
                parts = full.split(term)
                isa_marks = (term + "ISA",)
            buf = parts.pop()
            if "" in parts:
                parts = [p for p in parts if p]
            segs = parts
            rest = buf.strip(ws)
            if len(buf) > MAX_SEGMENT:
                raise self._error(
                    f"no segment terminator {term!r} in {MAX_SEGMENT} characters",
                    rest[:3],
                    offset=len(segs) + 1,
                )
            if rest.startswith("ISA") and (eof or len(rest) > 256):
                # The next interchange, whose terminator differs from this one's.
                buf = rest
                detect = True
            elif eof and rest:
                if term in "\r\n":
                    # A newline-terminated file may omit the last newline.
                    parts.append(rest)
                else:
                    truncated = rest
                buf = ""
            elif eof:
                buf = ""
            # The ISA that starts buf was read by the detection above; look for any other.
            if (full.startswith("ISA") and not skip_isa) or any(mark in full for mark in isa_marks):
                for i, part in enumerate(parts):
                    if part[:3] != "ISA" or len(part) < 4 or part[3].isalnum():
                        continue
                    if i == 0 and skip_isa:
                        continue
                    same = self._same_delimiters(parts[i], elem, term)
                    if same is not None:
                        self.delimiters = same
                        continue
                    # Different delimiters: hand out what came before, re-split the rest.
                    tail = term.join(parts[i:]) + term
                    buf = tail + buf
                    segs = segs[:i]
                    detect = True
                    break
            skip_isa = False
            if segs:
                self.count += len(segs)
                yield elem, segs
            if truncated:
                # After the complete segments, so the reader reports envelope problems first.
                raise self._error(
                    f"truncated file: last segment has no terminator {term!r}",
                    truncated.split(elem, 1)[0][:3],
                )
            if eof and not detect and not buf:
                return

    @staticmethod
    def _split_strip(full: str, term: str) -> list[str]:
        """Split on the terminator and strip whitespace around each segment but the last."""
        parts = full.split(term)
        last = parts.pop()
        parts = [p.strip(_WHITESPACE) for p in parts]
        parts.append(last)
        return parts

    @staticmethod
    def _same_delimiters(isa: str, elem: str, term: str) -> Delimiters | None:
        """The delimiters of a complete ISA segment split off with the current ones, else None."""
        if isa[3:4] != elem or isa.count(elem) != 16:
            return None
        fields = isa.split(elem)
        component = fields[16]
        if len(component) != 1 or not _is_delimiter(component) or component == term:
            return None
        rep = fields[11]
        repetition = rep if len(rep) == 1 and _is_delimiter(rep) else ""
        return Delimiters(elem, component, repetition, term)

    def _isa_delimiters(self, text: str, ordinal: int) -> Delimiters:
        """Delimiters of the ISA at the start of text, walking its 16 element separators."""
        elem = text[3] if len(text) > 3 else ""
        if not _is_delimiter(elem) or elem in "\r\n":
            raise X12Error(self.name, ordinal, "ISA", f"invalid element separator {elem!r}")
        pos = 3
        for _ in range(15):
            pos = text.find(elem, pos + 1, pos + 200)
            if pos < 0:
                raise X12Error(
                    self.name, ordinal, "ISA", "truncated ISA segment: fewer than 16 elements"
                )
        if len(text) < pos + 3:
            raise X12Error(
                self.name, ordinal, "ISA", "truncated ISA segment: no component separator"
            )
        component = text[pos + 1]
        term = text[pos + 2]
        if term in "\r\n":
            # `~` after a line break (each line starts with the terminator) is still `~`.
            after = text[pos + 2 :].lstrip(_WHITESPACE)[:1]
            if after and _is_delimiter(after) and after not in (elem, component):
                term = after
        if not _is_delimiter(component) or component == elem:
            raise X12Error(
                self.name, ordinal, "ISA", f"invalid component separator (ISA16) {component!r}"
            )
        if not _is_delimiter(term) or term in (elem, component):
            raise X12Error(self.name, ordinal, "ISA", f"invalid segment terminator {term!r}")
        fields = text[: pos + 2].split(elem)
        rep = fields[11] if len(fields) > 11 else ""
        repetition = rep if len(rep) == 1 and _is_delimiter(rep) and rep not in (elem, term) else ""
        if pos + 1 != 104:
            self.notes.append(
                Issue(
                    ordinal,
                    "isa-not-fixed-width",
                    f"ISA is {pos + 2} characters, not 106: delimiters read by counting separators",
                    "note",
                )
            )
        return Delimiters(elem, component, repetition, term)

    def _bare_st_delimiters(self, text: str) -> Delimiters:
        """Delimiters for a transaction with no ISA envelope (see the module docstring)."""
        elem = text[2]
        term = ""
        for ch in text[3:200]:
            if ch == elem or ch.isalnum() or ch == " ":
                continue
            term = ch
            break
        if not term or not _is_delimiter(term):
            raise X12Error(self.name, 1, "ST", "no ISA envelope and no segment terminator found")
        if term in "\r\n":
            pos = text.find(term)
            after = text[pos:].lstrip(_WHITESPACE)[:1]
            if after and _is_delimiter(after) and after != elem:
                term = after
        self.envelope = False
        self.notes.append(
            Issue(
                1,
                "no-envelope",
                f"no ISA envelope: delimiters assumed element {elem!r}, component ':', "
                f"repetition '^', terminator {term!r}",
            )
        )
        return Delimiters(elem, ":", "^", term)


def iter_segments(
    source: str | os.PathLike[str] | BinaryIO | bytes, name: str | None = None
) -> Iterator[tuple[int, Segment]]:
    """Each segment with its 1-based ordinal; a convenience over `Tokenizer` for tests and tools."""
    if isinstance(source, bytes):
        source = io.BytesIO(source)
    n = 0
    for elem, batch in Tokenizer(source, name):
        for text in batch:
            n += 1
            yield n, text.split(elem)
