"""The one error type malformed X12 input raises."""

from __future__ import annotations


class X12Error(Exception):
    """Malformed or unsupported X12: names the file, the segment number and id, and the problem."""

    def __init__(self, file: str, segment: int, segment_id: str, message: str) -> None:
        self.file = file
        self.segment = segment
        self.segment_id = segment_id
        self.message = message
        super().__init__(str(self))

    def __str__(self) -> str:
        where = f"segment {self.segment}" + (f" ({self.segment_id})" if self.segment_id else "")
        return f"{self.file}: {where}: {self.message}"
