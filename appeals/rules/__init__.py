"""Dermatology coding checks: turn a denied line into what is wrong and how to fix it.

Pure Python over plain dataclasses; the code facts (ranges, size bands, site groups, add-on
pairs, NCCI pairs, symptom terms) are tables in `data/rules/` (sources in `SOURCES.md` there).
"""

from __future__ import annotations

from appeals.rules.checks import check_line
from appeals.rules.facts import ACTIONS, LETTERS, ClaimFacts, Finding, LineFacts

__all__ = ["ACTIONS", "LETTERS", "ClaimFacts", "Finding", "LineFacts", "check_line"]
