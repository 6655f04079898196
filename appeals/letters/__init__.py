"""Appeal letters: choose a template, build its context, render the .docx, store it.

Templates are Word documents with docxtpl tags in `letter_templates/` (defaults) and optionally in
a practice's instance folder, whose copies override the defaults by name. Every field a template
may use is listed in `CONTEXT_SCHEMA` (documented in docs/letter-context.md); each template
declares the fields it requires in `templates.json`.

The package, from the bottom up: `schema` (the context fields), `templates` (folders, metadata,
the template check), `choosing` (the template for a denial; whether a batch writes one),
`context` (the values), `rendering` (the .docx and the stored `Letter`), `batch` (many letters
in a zip with an index), `preview` (a rendered letter as HTML). Callers use the names below:
`from appeals import letters; letters.generate_letter(...)`.
"""

from __future__ import annotations

from appeals.letters.batch import (
    INDEX_FILE,
    Skipped,
    explain_skipped,
    generate_batch,
    render_batch_zip,
    zip_letters,
)
from appeals.letters.choosing import (
    DEFAULT_TEMPLATE,
    SECOND_LEVEL_TEMPLATE,
    choose_template,
    not_for_appeal,
)
from appeals.letters.context import MissingFields, build_context, diagnosis_text, missing_fields
from appeals.letters.rendering import (
    generate_letter,
    letter_filename,
    next_version,
    practice_logo,
    render,
    snapshot,
)
from appeals.letters.schema import CONTEXT_SCHEMA, DERIVED_FROM, field_label, plain_words
from appeals.letters.templates import (
    BUILTIN_FOLDER,
    LetterError,
    Problem,
    TemplateInfo,
    available_templates,
    check_templates,
    shown_fields,
    template_folders,
    template_info,
    template_source,
    used_fields,
)

__all__ = [
    "BUILTIN_FOLDER",
    "CONTEXT_SCHEMA",
    "DEFAULT_TEMPLATE",
    "DERIVED_FROM",
    "INDEX_FILE",
    "SECOND_LEVEL_TEMPLATE",
    "LetterError",
    "MissingFields",
    "Problem",
    "Skipped",
    "TemplateInfo",
    "available_templates",
    "build_context",
    "check_templates",
    "choose_template",
    "diagnosis_text",
    "explain_skipped",
    "field_label",
    "generate_batch",
    "generate_letter",
    "letter_filename",
    "missing_fields",
    "next_version",
    "not_for_appeal",
    "plain_words",
    "practice_logo",
    "render",
    "render_batch_zip",
    "shown_fields",
    "snapshot",
    "template_folders",
    "template_info",
    "template_source",
    "used_fields",
    "zip_letters",
]
