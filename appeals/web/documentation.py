"""The documentation fields of a denial, edited inline: each field saves on change and shows
its own error; a plain form post saves them all (without JavaScript)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import Blueprint, Flask, Response, abort, redirect, request, url_for

from appeals import audit, documentation
from appeals.fields import FieldDef
from appeals.findings import refresh_for_documentation
from appeals.models import Claim, Denial, ServiceLine
from appeals.rules import tables
from appeals.web import get_session
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

    @property
    def name(self) -> str:
        return self.definition.name


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
    return {
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
    """Save one field; answers with that field alone, its error beside it (422) if invalid."""
    db = get_session()
    denial = _get_denial(denial_id)
    scope = scope_of(denial)
    value = request.form.get(name, "")
    error = _save(denial, scope, name, value)
    if error is None:
        audit.record(db, me().id, "update", "denial", denial.id, {"fields": [name]})
        db.commit()
        value = _values(scope).get(name, "")
    else:
        db.rollback()
    field = FieldState(documentation.fields()[name], value, error, saved=error is None)
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
        today=date.today(),
    )


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    # The denial page takes its documentation panel from here, as it takes the appeal panel
    # from `outcomes`: this module imports `web.denials`, never the other way round.
    app.jinja_env.globals["documentation_panel"] = panel_context
