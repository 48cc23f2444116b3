"""The reddition de comptes JSON API: each operation passes its ids, query and body to one RPC
of the contract (summaries: the contract's docstrings), an upload's multipart fields and file
included."""

from __future__ import annotations

from pydantic import Field

from gateway.web.passthrough import Api, passthrough
from gateway.web.reporting.pages import ADMIN, INSTITUTIONS, REPORTING, STAFF
from rac_shared.actor import MINISTRY_ROLES
from rac_shared.contracts.applications import MAX_ATTACHMENT_BYTES
from rac_shared.contracts.base import OptionalDate, Strict

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
    Api("api_report_upload", f"POST {A}/attachments", "upload_report_attachment", INSTITUTIONS,
        upload=("file", MAX_ATTACHMENT_BYTES)),
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
