"""The reddition de comptes JSON API: each operation passes its ids, query and body to one RPC
of the contract (summaries: the contract's docstrings); uploads and the dashboard's figures
are ordinary routes."""

from __future__ import annotations

import base64

from pydantic import Field
from werkzeug.wrappers import Response

from gateway.web import responses
from gateway.web.framework import Ctx, route
from gateway.web.passthrough import Api, passthrough
from gateway.web.reporting.pages import (
    ADMIN,
    INSTITUTIONS,
    REPORTING,
    STAFF,
    UploadForm,
    report_attachment,
)
from rac_shared.actor import MINISTRY_ROLES
from rac_shared.contracts.applications import MAX_ATTACHMENT_BYTES
from rac_shared.contracts.base import OptionalDate, Strict
from rac_shared.contracts.network import ReportAttachment, ReportingFigures

R = "/api/reporting/reports"
A = f"{R}/<int:report_id>"

# fmt: off
passthrough(
    "network",
    Api("api_reports", f"GET {R}", "list_reports", REPORTING),
    Api("api_report", f"GET {A}", "get_report", REPORTING),
    Api("api_report_save", f"PUT {A}", "save_report", INSTITUTIONS),
    Api("api_report_submit", f"POST {A}/submit", "submit_report", INSTITUTIONS),
    Api("api_report_review", f"POST {A}/review", "review_report", STAFF),
    Api("api_report_version", f"GET {A}/versions/<int:number>", "get_report_version", REPORTING),
    Api("api_report_delete_attachment", f"DELETE {A}/attachments/<int:attachment_id>",
        "delete_report_attachment", INSTITUTIONS),
    Api("api_reporting_deadline", "PUT /api/reporting/deadlines", "set_report_deadline", STAFF),
    Api("api_special_mandate_assign", "POST /api/reporting/special-mandates",
        "assign_special_mandate", ADMIN),
)
# fmt: on


class FiguresQuery(Strict):
    as_of: OptionalDate = Field(None, description="AAAA-MM-JJ (par défaut : aujourd'hui)")


@route(f"{A}/attachments", methods=("POST",), access=INSTITUTIONS, form=UploadForm, files=("file",))
def api_report_upload(ctx: Ctx, report_id: int, form: UploadForm) -> ReportAttachment:
    """Joindre un fichier à une section (multipart/form-data : file, section)"""
    filename, content = responses.uploaded(ctx, "file", MAX_ATTACHMENT_BYTES)
    return ctx.network.upload_report_attachment(
        report_id=report_id,
        data={
            "section": form.section,
            "filename": filename,
            "content_b64": base64.b64encode(content).decode(),
        },
    )


@route(f"{A}/attachments/<int:attachment_id>", access=REPORTING)
def api_report_attachment(ctx: Ctx, report_id: int, attachment_id: int) -> Response:
    """Télécharger une pièce jointe d'un rapport"""
    return report_attachment(ctx, report_id, attachment_id)


@route("/api/reporting/figures", access=MINISTRY_ROLES, query=FiguresQuery)
def api_reporting_figures(ctx: Ctx) -> ReportingFigures:
    """Indicateurs de la reddition de comptes (paramètre : as_of=AAAA-MM-JJ)"""
    return ctx.network.reporting_figures(as_of=ctx.query.as_of)
