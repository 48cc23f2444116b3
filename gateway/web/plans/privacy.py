"""Candidate-workers' personal information (Loi 25), for the institution: an access request
exports what the plans hold about one person as a JSON document, and the register lists
every export and every anonymisation by the retention rule."""

from __future__ import annotations

import json

from werkzeug.wrappers import Response

from gateway.web import responses
from gateway.web.framework import Ctx, post, route
from rac_shared.actor import INSTITUTION_ROLES
from rac_shared.contracts.plans import PersonalInformationQuery

PAGE = "/plans/renseignements-personnels"


@route(PAGE, access=INSTITUTION_ROLES, name="privacy_page")
def privacy_view(ctx: Ctx) -> Response:
    return ctx.render(
        "plans/privacy.html.j2",
        records=ctx.plans.privacy_records(),
        form=ctx.form(),
    )


@post(PAGE, PersonalInformationQuery, privacy_view, INSTITUTION_ROLES)
def privacy_export(ctx: Ctx, form: PersonalInformationQuery) -> Response:
    """The person's information as one JSON document (a structured, commonly used format,
    as Loi 25 asks for a person's own information), recorded by the plans service."""
    export = ctx.plans.export_personal_information(data=form)
    content = json.dumps(export.model_dump(mode="json"), ensure_ascii=False, indent=2)
    day = export.exported_at.date().isoformat()
    return responses.download(
        ctx, content.encode("utf-8"), f"renseignements-personnels-{day}.json", "application/json"
    )
