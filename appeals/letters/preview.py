"""A rendered letter (.docx) as simple, escaped HTML for the in-browser preview.

The preview is made from the very document that would be downloaded, so what the user reads is
what the payer gets: paragraphs in order with bold runs and line breaks, bullet lists, tables,
then the footer. Images are shown as a placeholder, and so are page numbers (fields that Word
and LibreOffice fill in when they lay out the pages).
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph
from markupsafe import Markup, escape

W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _runs(paragraph: Paragraph) -> str:
    parts = []
    in_field = False  # between a field's begin and end: its cached result is not shown
    for run in paragraph.runs:
        pieces = []
        for child in run._r:
            if child.tag == f"{W}fldChar":
                kind = child.get(f"{W}fldCharType")
                in_field = kind != "end"
                if kind == "begin":
                    pieces.append("#")
            elif in_field:
                continue
            elif child.tag == f"{W}t":
                pieces.append(str(escape(child.text or "")))
            elif child.tag == f"{W}br":
                pieces.append("<br>")
            elif child.tag == f"{W}tab":
                pieces.append(" ")
            elif child.tag == f"{W}drawing":
                pieces.append('<span class="letter-image">[logo]</span>')
        text = "".join(pieces)
        parts.append(f"<strong>{text}</strong>" if run.bold and text.strip() else text)
    return "".join(parts)


def _is_bullet(paragraph: Paragraph) -> bool:
    style = paragraph.style.name if paragraph.style is not None else ""
    return style.startswith("List")


def _shows(paragraph: Paragraph) -> bool:
    """A table cell's paragraph with text or a picture (the letterhead logo)."""
    return bool(paragraph.text.strip() or paragraph._p.xpath(".//w:drawing"))


def _table(table: Table) -> str:
    rows = []
    for index, row in enumerate(table.rows):
        tag = "th" if index == 0 and len(table.rows) > 1 else "td"
        cells = "".join(
            f"<{tag}>{'<br>'.join(_runs(p) for p in cell.paragraphs if _shows(p))}</{tag}>"
            for cell in row.cells
        )
        rows.append(f"<tr>{cells}</tr>")
    return f'<table class="letter-table">{"".join(rows)}</table>'


def _blocks(document: docx.document.Document) -> Iterator[str]:
    in_list = False
    for block in document.iter_inner_content():
        if isinstance(block, Paragraph) and _is_bullet(block):
            if not in_list:
                yield "<ul>"
                in_list = True
            yield f"<li>{_runs(block)}</li>"
            continue
        if in_list:
            yield "</ul>"
            in_list = False
        if isinstance(block, Table):
            yield _table(block)
        else:
            html = _runs(block)
            yield f"<p>{html}</p>" if html.strip() else '<p class="letter-gap"></p>'
    if in_list:
        yield "</ul>"


def to_html(data: bytes) -> Markup:
    """The letter body and footer as HTML (all document text escaped)."""
    document = docx.Document(io.BytesIO(data))
    body = "".join(_blocks(document))
    footer = "".join(_runs(p) for section in document.sections for p in section.footer.paragraphs)
    return Markup(f'<article class="letter-preview">{body}<footer>{footer}</footer></article>')
