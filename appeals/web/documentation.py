"""The documentation fields of a denial, edited inline: each field saves on change and shows
its own error; a plain form post saves them all (without JavaScript)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, Flask, Response, abort, g, redirect, request, url_for
from sqlmodel import col, select

from appeals import audit, documentation, ranking
from appeals.fields import FieldDef
from appeals.findings import refresh_for_documentation
from appeals.models import Claim, Denial, ServiceLine
from appeals.rules import tables
from appeals.web import get_session, params
from appeals.web.auth import me
from appeals.web.denials import get_denial_for_user, render_detail
from appeals.web.htmx import is_htmx, render_page_or_partial, trigger

bp = Blueprint("documentation", __name__, url_prefix="/denials")

# Shown first: what almost every dermatology appeal argues from.
CORE_FIELDS = ("diagnosis", "site", "lesion_size_cm", "symptoms", "pathology", "prior_treatment")


@dataclass(frozen=True)
class FieldState:
    definition: FieldDef
    value: str
    error: str | None = None
    saved: bool = False
    line: ServiceLine | None = None  # another line of the claim (its own per-line fact)

    @property
    def name(self) -> str:
        return self.definition.name

    @property
    def input_name(self) -> str:
        """The form name: the field's, or `line<id>-<field>` for another line's fact."""
        return f"line{self.line.id}-{self.name}" if self.line is not None else self.name

    @property
    def input_id(self) -> str:
        return "doc-" + (f"{self.name}-line-{self.line.id}" if self.line is not None else self.name)

    @property
    def line_label(self) -> str:
        return line_label(self.line) if self.line is not None else ""


@dataclass(frozen=True)
class MissingFact:
    """Documentation a coding check asks for, and the line it belongs to (None: the date's)."""

    name: str
    label: str
    line: ServiceLine | None
    this_line: bool


def line_label(line: ServiceLine) -> str:
    return f"line {line.line_number} ({line.procedure_code})"


# A check names the lines it compares as "line 2 (11602)" in its message.
LINE_REFERENCE = re.compile(r"\bline (\d+) \(")
OTHER_LINE_INPUT = re.compile(r"line(\d+)-(\w+)")


@dataclass(frozen=True)
class Scope:
    """Where a denial's facts are stored: practice, account, date of service and procedure."""

    practice_id: int
    account: str
    service_date: date | None
    procedure: str
    claim: Claim
    line: ServiceLine | None

    def procedure_for(self, definition: FieldDef) -> str:
        return self.procedure if definition.per_line else ""


def scope_of(denial: Denial) -> Scope:
    db = get_session()
    claim = db.get(Claim, denial.claim_id)
    assert claim is not None
    line = db.get(ServiceLine, denial.line_id) if denial.line_id else None
    day = (line.service_date if line else None) or denial.service_date or claim.service_date
    procedure = line.procedure_code if line else denial.procedure_code
    return Scope(denial.practice_id, claim.patient_control_number, day, procedure, claim, line)


def _values(scope: Scope) -> dict[str, str]:
    db = get_session()
    if scope.line is not None:
        return documentation.facts_for_line(db, scope.claim, scope.line)
    if scope.service_date is None:
        return {}
    facts = documentation.facts_for_date(db, scope.practice_id, scope.account, scope.service_date)
    return {f.field: f.value for f in facts if not f.procedure_code}


def _missing(denial: Denial) -> list[str]:
    from appeals.findings import stored_findings

    return [name for f in stored_findings(denial) for name in f.missing]


def claim_lines(scope: Scope) -> list[ServiceLine]:
    """The claim's lines on the denial's date of service, in line order."""
    query = select(ServiceLine).where(ServiceLine.claim_id == scope.claim.id)
    lines = get_session().exec(query.order_by(col(ServiceLine.line_number))).all()
    day = scope.service_date
    return [line for line in lines if (line.service_date or scope.claim.service_date) == day]


def missing_facts(denial: Denial) -> list[MissingFact]:
    """What the coding checks say is missing, each with the line it is missing on: a per-line
    field on the denied line or on the line a check compares it with (named in its message).

    Computed once per request and denial (the panel and the recommendation both ask); a save
    of documentation forgets it."""
    known = g.setdefault("missing_facts", {})
    key = (denial.id, denial.findings)
    if key not in known:
        known[key] = _missing_facts(denial)
    return known[key]  # type: ignore[no-any-return]


def _missing_facts(denial: Denial) -> list[MissingFact]:
    from appeals.findings import stored_findings

    found = stored_findings(denial)
    if not any(f.missing for f in found):
        return []
    scope = scope_of(denial)
    lines = claim_lines(scope)
    by_number = {line.line_number: line for line in lines}
    facts = documentation.facts_for_lines(get_session(), scope.claim, lines) if lines else {}
    date_values = _values(scope) if scope.line is None else {}
    known = documentation.fields()
    result: list[MissingFact] = []
    seen: set[tuple[str, int | None]] = set()
    for finding in found:
        named = [by_number.get(int(n)) for n in LINE_REFERENCE.findall(finding.message)]
        candidates = [scope.line] if scope.line is not None else []
        candidates += [x for x in named if x is not None and x not in candidates]
        for name in finding.missing:
            definition = known.get(name)
            label = definition.label if definition else name.replace("_", " ")
            if definition is None or not definition.per_line or not candidates:
                values = facts.get(scope.line.id or 0, {}) if scope.line else date_values
                if (name, None) not in seen and not values.get(name):
                    seen.add((name, None))
                    result.append(MissingFact(name, label, None, True))
                continue
            for line in candidates:
                same = line.procedure_code == scope.procedure
                key = (name, None if same else line.id)
                if key in seen or facts.get(line.id or 0, {}).get(name):
                    continue
                seen.add(key)
                result.append(MissingFact(name, label, line, same))
    return result


def scope_for_line(denial: Denial, line_id: int | None) -> Scope:
    """Where one line of the denial's claim files its facts (404 for a line of another claim)."""
    scope = scope_of(denial)
    if line_id is None:
        return scope
    line = get_session().get(ServiceLine, line_id)
    if line is None or line.claim_id != scope.claim.id:
        abort(404)
    day = line.service_date or scope.claim.service_date
    return Scope(scope.practice_id, scope.account, day, line.procedure_code, scope.claim, line)


def panel_context(
    denial: Denial, errors: dict[str, str] | None = None, entered: dict[str, str] | None = None
) -> dict[str, Any]:
    """Fields to show first (core, asked for by the checks, or filled in) and the rest."""
    scope = scope_of(denial)
    values = _values(scope) | (entered or {})
    errors = errors or {}
    everything = documentation.fields()
    wanted = [*CORE_FIELDS, *_missing(denial), *(n for n in everything if values.get(n))]
    first = [n for n in dict.fromkeys(wanted) if n in everything]
    state = {n: FieldState(d, values.get(n, ""), errors.get(n)) for n, d in everything.items()}
    other_lines = [
        FieldState(everything[m.name], "", errors.get(f"line{m.line.id}-{m.name}"), line=m.line)
        for m in missing_facts(denial)
        if m.line is not None and not m.this_line and m.name in everything
    ]
    return {
        "doc_lines": other_lines,
        "doc_first": [state[n] for n in first],
        "doc_rest": [s for n, s in state.items() if n not in first],
        "doc_scope": scope,
        "doc_errors": errors,
        "doc_sites": sorted(tables.sites()),
    }


def _get_denial(denial_id: int) -> Denial:
    return get_denial_for_user(denial_id)


def _save(denial: Denial, scope: Scope, name: str, value: str, refresh: bool = True) -> str | None:
    definition = documentation.fields().get(name)
    if definition is None:
        abort(404)
    if scope.service_date is None:
        return "This denial has no date of service to file documentation under."
    g.pop("missing_facts", None)  # what is missing may change
    return documentation.save_fact(
        get_session(),
        scope.practice_id,
        scope.account,
        scope.service_date,
        scope.procedure_for(definition),
        name,
        value,
        user_id=me().id,
        refresh=refresh,
    )


def save_fields(denial: Denial, scope: Scope, values: dict[str, str]) -> dict[str, str]:
    """Save several fields, then refresh the findings once; errors by field (those not saved)."""
    g.pop("missing_facts", None)
    errors: dict[str, str] = {}
    for name, value in values.items():
        if error := _save(denial, scope, name, value, refresh=False):
            errors[name] = error
    if len(errors) < len(values) and scope.service_date is not None:
        refresh_for_documentation(
            get_session(), scope.practice_id, scope.account, scope.service_date
        )
    return errors


@bp.post("/<int:denial_id>/documentation/<name>")
def save_field(denial_id: int, name: str) -> Response:
    """Save one field; answers with that field alone, its error beside it (422) if invalid.
    With `?line=ID` the field is another line's of the same claim (a fact a check asks for)."""
    db = get_session()
    denial = _get_denial(denial_id)
    line_id = params.query_int("line")
    scope = scope_for_line(denial, line_id)
    other = scope.line if line_id is not None else None
    probe = FieldState(documentation.fields().get(name) or abort(404), "", line=other)
    value = request.form.get(probe.input_name, "")
    before = _values(scope).get(name, "")
    error = _save(denial, scope, name, value)
    if error is None:
        value = _values(scope).get(name, "")
        if value != before:  # the history lists only what changed
            detail: dict[str, Any] = {"fields": [name]}
            if other is not None:
                detail["line"] = other.line_number
            audit.record(db, me().id, "update", "denial", denial.id, detail)
        db.commit()
    else:
        db.rollback()
    field = FieldState(probe.definition, value, error, saved=error is None, line=other)
    response = render_page_or_partial(
        "denials/_doc_field.html",
        "denials/_doc_field.html",
        status=422 if error else 200,
        denial=denial,
        field=field,
        doc_sites=sorted(tables.sites()),
    )
    return trigger(response, "denial-changed") if error is None else response


@bp.post("/<int:denial_id>/documentation")
def save_all(denial_id: int) -> Response:
    """Save every submitted field (the no-JavaScript path); invalid ones are shown with errors."""
    db = get_session()
    denial = _get_denial(denial_id)
    scope = scope_of(denial)
    known = documentation.fields()
    submitted = {k: v for k, v in request.form.items() if k in known}
    current = _values(scope)
    changed = {k: v for k, v in submitted.items() if v.strip() != current.get(k, "")}
    errors = save_fields(denial, scope, changed)
    saved = sorted(set(changed) - set(errors))
    if saved:
        audit.record(db, me().id, "update", "denial", denial.id, {"fields": saved})
    # Other lines' facts the checks asked for: `line<id>-<field>`, saved under that line.
    for key, value in request.form.items():
        match = OTHER_LINE_INPUT.fullmatch(key)
        if match is None or match[2] not in known or not value.strip():
            continue
        other = scope_for_line(denial, params.parse_int(match[1], key))
        if error := save_fields(denial, other, {match[2]: value}).get(match[2]):
            errors[key] = error
            changed[key] = value
        else:
            detail = {"fields": [match[2]], "line": other.line.line_number if other.line else None}
            audit.record(db, me().id, "update", "denial", denial.id, detail)
    db.commit()
    if not errors and not is_htmx():
        return redirect(url_for("denials.detail", denial_id=denial.id) + "#documentation", 303)
    entered = {k: changed[k] for k in errors}
    if not is_htmx():
        return render_detail(denial, 422, panel_context(denial, errors, entered))
    response = render_page_or_partial(
        "denials/_documentation.html",
        "denials/_documentation.html",
        status=422 if errors else 200,
        denial=denial,
        **panel_context(denial, errors, entered),
    )
    return trigger(response, "denial-changed")


@bp.get("/<int:denial_id>/findings")
def findings(denial_id: int) -> Response:
    """The recommendation and coding checks (refreshed after documentation changes)."""
    denial = _get_denial(denial_id)
    db = get_session()
    db.refresh(denial)
    return render_page_or_partial(
        "denials/_recommendation.html",
        "denials/_recommendation.html",
        d=denial,
        score=ranking.score_of(db, denial_id),
        today=date.today(),
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    # The denial page takes its documentation panel from here, as it takes the appeal panel
    # from `outcomes`: this module imports `web.denials`, never the other way round.
    app.jinja_env.globals["documentation_panel"] = panel_context
    app.jinja_env.globals["missing_facts"] = missing_facts
