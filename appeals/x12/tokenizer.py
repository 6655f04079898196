"""Streaming X12 tokenizer: bytes in, batches of segments (lists of element strings) out.

The file is read in chunks (1 MiB by default) and decoded as UTF-8 with invalid bytes replaced, so
any byte sequence decodes. Delimiters come from each ISA segment (element separator = ISA
character 3, component separator = the character after the 16th element separator, terminator =
the one after that), so unpadded ISA segments and several interchanges with different delimiters
work. CR, LF, tabs and spaces around segments are dropped; a newline may be the terminator.
Each interchange is split on its own terminator once: the next one starts at the next ISA that
begins a segment, found by one forward search, so the work stays linear in the file size however
often the delimiters change.

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
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from appeals.x12.errors import X12Error
from appeals.x12.model import Issue

CHUNK_SIZE = 1 << 20
# A segment longer than this with no terminator in sight means the terminator is wrong or the
# input is not X12; stop instead of buffering a 500 MB "segment".
MAX_SEGMENT = 1 << 20
# Segment numbers are stored (claim and line rows) as 32-bit integers on PostgreSQL.
MAX_SEGMENTS = (1 << 31) - 1
_WHITESPACE = " \t\r\n"
_BOM = "\ufeff"
# Decoded text kept ahead of the current position: enough for any ISA (16 elements of at most
# 200 characters each are looked at) and the blank lines before it.
_LOOKAHEAD = 4096
_LEADING = re.compile(r"[ \t\r\n]*").match
_LEADING_BOM = re.compile(r"[\ufeff \t\r\n]*").match

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
        """Split the file into interchanges, each with its own delimiters, then into segments.

        `text[pos:]` is what is decoded and not yet handed out. An interchange (a region) ends
        where the next ISA starts a segment; `_next_isa` finds that with one forward search, and
        a region is split on its own terminator only once. So the work is linear in the file size
        however often the delimiters change: re-splitting the rest of a chunk at each change (the
        earlier design) took 52 s for 8,000 interchanges alternating two delimiter sets.
        """
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        text = ""
        pos = 0
        eof = False
        first = True
        detect = True  # delimiters must be (re)detected from the ISA at text[pos:]
        scan = 0  # where to look for the next interchange's ISA
        segment_start = True  # text[pos] starts a segment (it follows a terminator)
        elem = term = ""
        while True:
            if detect:
                while True:
                    if not eof and len(text) - pos < _LOOKAHEAD:
                        text = text[pos:]
                        pos = 0
                        while not eof and len(text) < _LOOKAHEAD:
                            chunk = self._read(stream, decoder)
                            if chunk is None:
                                eof = True
                                chunk = decoder.decode(b"", final=True)
                            text += chunk
                    pos = (_LEADING_BOM if first else _LEADING)(text, pos).end()
                    if eof or len(text) - pos >= _LOOKAHEAD:
                        break
                head = text[pos : pos + _LOOKAHEAD]
                if first:
                    delims = self._first_delimiters(head)
                    first = False
                else:
                    delims = self._isa_delimiters(head, self.count + 1)
                self.delimiters = delims
                elem, term = delims.element, delims.terminator
                detect = False
                scan = pos + 3
                segment_start = True
            if not eof and len(text) - pos < _LOOKAHEAD:
                # Too little left to find the next ISA whole: read on first.
                text = text[pos:]
                scan -= pos
                pos = 0
                chunk = self._read(stream, decoder)
                if chunk is None:
                    eof = True
                    chunk = decoder.decode(b"", final=True)
                text += chunk
            k = self._next_isa(text, scan, pos, term, segment_start, eof)
            region = text[pos:k] if k >= 0 else text[pos:] if pos else text
            parts = self._split(region, term)
            rest = parts.pop()
            truncated = ""
            if k < 0 and len(rest) > MAX_SEGMENT:
                raise self._error(
                    f"no segment terminator {term!r} in {MAX_SEGMENT} characters",
                    rest.strip(_WHITESPACE)[:3],
                    offset=len(parts) + 1 - parts.count(""),
                )
            if k >= 0:
                # The next interchange: its own delimiters, read from its ISA.
                pos = k
                detect = True
            elif eof:
                tail = rest.strip(_WHITESPACE)
                if tail:
                    if term in "\r\n":
                        # A newline-terminated file may omit the last newline.
                        parts.append(tail)
                    else:
                        truncated = tail
                text = ""
                pos = 0
            else:
                # The unfinished last segment waits for the next chunk; it starts a segment
                # when it follows a terminator (an ISA there is looked for again).
                segment_start = bool(parts) or segment_start
                chunk = self._read(stream, decoder)
                if chunk is None:
                    eof = True
                    chunk = decoder.decode(b"", final=True)
                text = rest + chunk
                pos = 0
                scan = 0
            if "" in parts:
                parts = [p for p in parts if p]
            if parts:
                if self.count + len(parts) > MAX_SEGMENTS:
                    raise self._error(
                        f"more than {MAX_SEGMENTS:,} segments in one file", parts[0][:3]
                    )
                self.count += len(parts)
                yield elem, parts
            if truncated:
                # After the complete segments, so the reader reports envelope problems first.
                raise self._error(
                    f"truncated file: last segment has no terminator {term!r}",
                    truncated.split(elem, 1)[0][:3],
                )
            if eof and not detect and pos >= len(text):
                return

    def _first_delimiters(self, head: str) -> Delimiters:
        """Delimiters at the start of the file: an ISA, or a bare ST (with a note)."""
        if not head:
            raise X12Error(self.name, 0, "", "empty file: no X12 content")
        if head.startswith("ISA"):
            return self._isa_delimiters(head, 1)
        if head.startswith("ST") and len(head) > 3 and _is_delimiter(head[2]):
            return self._bare_st_delimiters(head)
        first = head[:3].split("*", 1)[0]
        seg_id = first if first.isascii() and first.isalnum() and first.isupper() else ""
        raise X12Error(
            self.name, 1, seg_id, "not an X12 interchange: the file must start with an ISA segment"
        )

    @staticmethod
    def _next_isa(text: str, scan: int, pos: int, term: str, segment_start: bool, eof: bool) -> int:
        """Where the next interchange's ISA starts in text (at or after scan), else -1.

        An ISA counts where it starts a segment: after the terminator, whitespace allowed
        between, or at pos when pos starts a segment; and followed by a non-alphanumeric
        character (its element separator). One that ends the text is decided once more text
        has been read.
        """
        size = len(text)
        newline_term = term in "\r\n"
        while True:
            k = text.find("ISA", scan)
            if k < 0:
                return -1
            scan = k + 1
            if k + 3 >= size:
                return k if eof else -1
            if text[k + 3].isalnum():
                continue
            j = k - 1
            crossed_term = False
            while j >= pos and text[j] in _WHITESPACE:
                if text[j] == term:
                    crossed_term = True
                j -= 1
            if j < pos:
                if segment_start or crossed_term:
                    return k
            elif crossed_term or (not newline_term and text[j] == term):
                return k

    @staticmethod
    def _split(full: str, term: str) -> list[str]:
        """Segments of full, split on the terminator and stripped; the last item is what follows
        the last terminator (an unfinished segment or whitespace)."""
        # A one-character search is far cheaper than a two-character one: most chunks of a
        # machine-written file have no space at all, so skip the space-pair searches.
        spaces = " " in full
        if term in "\r\n" or "\t" in full or (spaces and " " + term in full) or full[:1] == " ":
            return Tokenizer._split_strip(full, term)
        newline = "\r\n" if "\r" in full else "\n"
        if newline in full:
            # The usual layout, one segment a line: when every line break follows a terminator,
            # splitting on both equals splitting and stripping (and is faster).
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
                return parts
            return Tokenizer._split_strip(full, term)
        if "\r" in full or (spaces and term + " " in full):
            return Tokenizer._split_strip(full, term)
        return full.split(term)

    @staticmethod
    def _split_strip(full: str, term: str) -> list[str]:
        """Split on the terminator and strip whitespace around each segment but the last."""
        parts = full.split(term)
        last = parts.pop()
        parts = [p.strip(_WHITESPACE) for p in parts]
        parts.append(last)
        return parts

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
