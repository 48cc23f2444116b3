"""The reddition de comptes JSON API: each operation passes its ids, query and body to one RPC
of the contract (summaries: the contract's docstrings); an upload is an ordinary route."""

from __future__ import annotations

from pydantic import Field

from gateway.web import responses
from gateway.web.framework import Ctx, route
from gateway.web.passthrough import Api, passthrough
from gateway.web.reporting.pages import ADMIN, INSTITUTIONS, REPORTING, STAFF
from rac_shared.actor import MINISTRY_ROLES
from rac_shared.contracts.applications import MAX_ATTACHMENT_BYTES
from rac_shared.contracts.base import OptionalDate, Strict
from rac_shared.contracts.network import ReportAttachment
from rac_shared.contracts.network import ReportAttachmentSection as Section

R = "/api/reporting/reports"
A = f"{R}/<int:report_id>"


class FiguresQuery(Strict):
    as_of: OptionalDate = Field(None, description="AAAA-MM-JJ (par défaut : aujourd'hui)")


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
    Api("api_report_attachment", f"GET {A}/attachments/<int:attachment_id>",
        "get_report_attachment", REPORTING, file=True),
    Api("api_reporting_figures", "GET /api/reporting/figures", "reporting_figures",
        MINISTRY_ROLES, params=FiguresQuery),
    Api("api_special_mandate_assign", "POST /api/reporting/special-mandates",
        "assign_special_mandate", ADMIN),
)
# fmt: on


@route(f"{A}/attachments", methods=("POST",), access=INSTITUTIONS, form=Section, files=("file",))
def api_report_upload(ctx: Ctx, report_id: int, form: Section) -> ReportAttachment:
    """Joindre un fichier à une section (multipart/form-data : file, section)"""
    data = {**dict(form), **responses.uploaded_file(ctx, "file", MAX_ATTACHMENT_BYTES)}
    return ctx.network.upload_report_attachment(report_id=report_id, data=data)
