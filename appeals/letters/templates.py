"""Letter templates: where they live, their metadata, and the check for broken or unknown fields.

Default templates are the .docx files in `letter_templates/` with `templates.json` beside them.
A practice may keep edited copies in its instance folder; a copy overrides the default of the
same name, and metadata missing there comes from the defaults. `check_templates` parses each
template as docxtpl would render it and reports syntax errors, fields outside the context
schema, and required fields that are unknown or unused.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from docxtpl import DocxTemplate
from jinja2 import Environment, Template, TemplateSyntaxError, nodes

from appeals.letters.schema import CONTEXT_SCHEMA, DERIVED_FROM

BUILTIN_FOLDER = Path(__file__).resolve().parents[2] / "letter_templates"


METADATA_FILE = "templates.json"


class LetterError(Exception):
    """A letter cannot be built or rendered; the message says why."""


@dataclass(frozen=True)
class TemplateInfo:
    name: str
    title: str
    categories: tuple[str, ...]
    required: tuple[str, ...]
    description: str
    path: Path | None


@dataclass(frozen=True)
class Problem:
    template: str
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.template}: {self.field}" if self.field else self.template
        return f"{where}: {self.message}"


def template_folders(extra: Path | str | None = None) -> list[Path]:
    """Search order: the practice's folder (if any) first, then the built-in defaults."""
    folders = [Path(extra)] if extra else []
    return [*folders, BUILTIN_FOLDER]


def _metadata(folder: Path) -> list[dict[str, Any]]:
    path = folder / METADATA_FILE
    if not path.exists():
        return []
    return _read_metadata(path, path.stat().st_mtime_ns)


@cache
def _read_metadata(path: Path, mtime_ns: int) -> list[dict[str, Any]]:
    return list(json.loads(path.read_text(encoding="utf-8")).get("templates", []))


def available_templates(folders: Sequence[Path] | None = None) -> dict[str, TemplateInfo]:
    """Every template by name: metadata and .docx from the first folder that has them."""
    folders = list(folders or template_folders())
    found: dict[str, TemplateInfo] = {}
    for folder in reversed(folders):
        for entry in _metadata(folder):
            old = found.get(entry["name"])
            found[entry["name"]] = TemplateInfo(
                name=entry["name"],
                title=entry.get("title", entry["name"]),
                categories=tuple(entry.get("categories", ())),
                required=tuple(entry.get("required", ())),
                description=entry.get("description", ""),
                path=old.path if old else None,
            )
        for path in sorted(folder.glob("*.docx")) if folder.is_dir() else []:
            if path.name.startswith("~$"):  # Word's lock file while a document is open
                continue
            old = found.get(path.stem)
            found[path.stem] = (
                TemplateInfo(
                    old.name, old.title, old.categories, old.required, old.description, path
                )
                if old
                else TemplateInfo(path.stem, path.stem, (), (), "", path)
            )
    return {name: info for name, info in sorted(found.items()) if info.path is not None}


def template_info(
    name: str,
    folders: Sequence[Path] | None = None,
    templates: Mapping[str, TemplateInfo] | None = None,
) -> TemplateInfo:
    """One template; `templates` is `available_templates(folders)` when already at hand."""
    templates = available_templates(folders) if templates is None else templates
    if name not in templates:
        known = ", ".join(templates)
        raise LetterError(f"unknown letter template {name!r}; known: {known}")
    return templates[name]


class CachingEnvironment(Environment):
    """An autoescaping environment that compiles each template source once.

    docxtpl hands the same patched XML to `from_string` for every letter of a template;
    compiling it is half the cost of a letter, and the compiled template is safe to reuse.
    """

    MAX_TEMPLATES = 256

    def __init__(self) -> None:
        super().__init__(autoescape=True)
        self._compiled: dict[str, Template] = {}

    def from_string(  # type: ignore[override]
        self,
        source: str | nodes.Template,
        globals: Mapping[str, Any] | None = None,
        template_class: type[Template] | None = None,
    ) -> Template:
        if globals or template_class or not isinstance(source, str):
            return super().from_string(source, globals, template_class)
        compiled = self._compiled.get(source)
        if compiled is None:
            if len(self._compiled) >= self.MAX_TEMPLATES:
                self._compiled.clear()
            compiled = self._compiled[source] = super().from_string(source)
        return compiled


@cache
def jinja_env() -> Environment:
    """The shared environment letters are rendered and checked with (autoescape on)."""
    return CachingEnvironment()


def template_source(path: Path) -> str:
    """The Jinja source docxtpl renders for a .docx: body, headers and footers, patched."""
    document = DocxTemplate(str(path))
    document.init_docx()
    parts = [document.patch_xml(document.get_xml())]
    for uri in (document.HEADER_URI, document.FOOTER_URI):
        for _key, part in document.get_headers_footers(uri):
            parts.append(document.patch_xml(document.get_part_xml(part)))
    return "\n".join(parts)


def used_fields(source: str) -> set[str]:
    """Dotted field paths a template reads, with loop variables mapped to `list[].field`."""
    tree = jinja_env().parse(source)
    found: set[str] = set()
    _walk(tree, {}, found)
    return found


def shown_fields(info: TemplateInfo) -> frozenset[str]:
    """Every field the template reads, with the documentation fields its derived ones come from.

    Cached per file version: the letter form and the facts list ask for each letter.
    """
    assert info.path is not None
    return _shown_fields(info.path, info.path.stat().st_mtime_ns)


@cache
def _shown_fields(path: Path, mtime_ns: int) -> frozenset[str]:
    used = used_fields(template_source(path))
    return frozenset(used | {source for field in used for source in DERIVED_FROM.get(field, ())})


def _path(node: nodes.Node, aliases: Mapping[str, str]) -> str | None:
    if isinstance(node, nodes.Name):
        return aliases.get(node.name, node.name)
    if isinstance(node, nodes.Getattr):
        base = _path(node.node, aliases)
        return f"{base}.{node.attr}" if base else None
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        base = _path(node.node, aliases)
        return f"{base}.{node.arg.value}" if base else None
    return None


def _walk(node: nodes.Node, aliases: dict[str, str], found: set[str]) -> None:
    if isinstance(node, nodes.For):
        _walk(node.iter, aliases, found)
        source = _path(node.iter, aliases)
        inner = dict(aliases)
        inner["loop"] = ""
        if isinstance(node.target, nodes.Name) and source:
            inner[node.target.name] = f"{source}[]"
        for child in (*node.body, *node.else_):
            _walk(child, inner, found)
        if node.test is not None:
            _walk(node.test, inner, found)
        return
    if isinstance(node, nodes.Assign | nodes.AssignBlock):
        target = node.target
        if isinstance(target, nodes.Name):
            aliases[target.name] = ""
    if isinstance(node, nodes.Getattr | nodes.Getitem | nodes.Name):
        path = _path(node, aliases) if getattr(node, "ctx", "load") == "load" else ""
        if path is not None:
            if path:
                found.add(path)
            return
    for child in node.iter_child_nodes():
        _walk(child, aliases, found)


def _known(path: str) -> bool:
    if path in CONTEXT_SCHEMA:
        return True
    return any(key.startswith(path + ".") or key.startswith(path + "[].") for key in CONTEXT_SCHEMA)


def check_templates(folder: Path | str | None = None) -> list[Problem]:
    """Problems in a template folder: syntax errors, unknown fields, bad or unused requirements.

    For a practice's folder, metadata missing there is taken from the built-in templates.json.
    """
    folder = Path(folder) if folder else BUILTIN_FOLDER
    folders = [folder] if folder.resolve() == BUILTIN_FOLDER.resolve() else [folder, BUILTIN_FOLDER]
    problems: list[Problem] = []
    if not folder.is_dir():
        return [Problem(str(folder), "", "folder not found")]
    try:
        templates = available_templates(folders)
    except (ValueError, KeyError) as exc:
        return [Problem(METADATA_FILE, "", f"cannot read metadata: {exc}")]
    own = {p.stem for p in folder.glob("*.docx") if not p.name.startswith("~$")}
    declared = {entry["name"] for entry in _metadata(folder)}
    for name in sorted(declared - own):
        if folder.resolve() == BUILTIN_FOLDER.resolve():
            problems.append(Problem(name, "", f"declared in {METADATA_FILE} but no {name}.docx"))
    for name in sorted(own):
        info = templates[name]
        if name not in {entry["name"] for f in folders for entry in _metadata(f)}:
            problems.append(Problem(name, "", f"not declared in {METADATA_FILE}"))
        for path in info.required:
            if not _known(path):
                problems.append(Problem(name, path, "required field is not in the context schema"))
        assert info.path is not None
        try:
            used = used_fields(template_source(info.path))
        except TemplateSyntaxError as exc:
            problems.append(
                Problem(name, "", f"Jinja syntax error (line {exc.lineno}): {exc.message}")
            )
            continue
        used |= {source for path in used for source in DERIVED_FROM.get(path, ())}
        for path in sorted(used):
            if not _known(path):
                problems.append(Problem(name, path, "unknown field (not in the context schema)"))
        for path in info.required:
            if _known(path) and path not in used:
                problems.append(Problem(name, path, "required field is not used by the template"))
    return problems
