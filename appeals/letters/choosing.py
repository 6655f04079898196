"""Which letter a denial gets, and whether a batch writes one for it at all.

The template: appeal level 2 or higher → the second-level letter; else the `letter` a coding
finding names; else the first template serving the denial's category; else medical necessity.
A batch writes only appeals: a denial routed to a corrected claim, a reopening or another
action, one whose appeal deadline has passed, or one that is not waiting for an appeal is left
out, with the reason in plain words.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from pathlib import Path
from typing import Any

from appeals import lifecycle, workflow
from appeals.denials import action_label
from appeals.formatting import day
from appeals.letters.templates import TemplateInfo, available_templates
from appeals.models import Denial

DEFAULT_TEMPLATE = "medical_necessity"
SECOND_LEVEL_TEMPLATE = "second_level"


def denial_findings(denial: Denial) -> list[dict[str, Any]]:
    """The denial's findings JSON as a list of dicts (it may hold one dict or a list)."""
    if not denial.findings:
        return []
    try:
        value = json.loads(denial.findings)
    except ValueError:
        return []
    if isinstance(value, dict):
        inner = value.get("findings")
        return [v for v in inner if isinstance(v, dict)] if isinstance(inner, list) else [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, dict)]
    return []


def choose_template(
    denial: Denial,
    folders: Sequence[Path] | None = None,
    *,
    templates: Mapping[str, TemplateInfo] | None = None,
) -> str:
    """The template for a denial: second level, then a finding's `letter`, then the category.

    `templates` is `available_templates(folders)` when the caller already has it.
    """
    templates = available_templates(folders) if templates is None else templates
    if denial.appeal_level >= 2 and SECOND_LEVEL_TEMPLATE in templates:
        return SECOND_LEVEL_TEMPLATE
    for finding in denial_findings(denial):
        letter = finding.get("letter")
        if isinstance(letter, str) and letter in templates:
            return letter
    for info in templates.values():
        if denial.category in info.categories:
            return info.name
    return DEFAULT_TEMPLATE


def not_for_appeal(denial: Denial, today: date) -> str | None:
    """Why a batch writes no appeal letter for this denial, in plain words; None when it does.

    Its status must wait for an appeal, its recommended route must be an appeal (every level
    after the first is one), and its appeal deadline must not have passed.
    """
    if denial.status not in lifecycle.SENDABLE:
        return f"status is {workflow.STATUSES.get(denial.status, denial.status)}: no appeal is due"
    if denial.appeal_level <= 1 and denial.action != "appeal":
        return f"recommended route: {action_label(denial.action)}, not an appeal"
    if denial.deadline is not None and denial.deadline < today:
        return f"the appeal deadline passed on {day(denial.deadline)}"
    return None
