"""The funding JSON API (``/api/funding``): each command passes its ids and body to one RPC of
the billing service's funding contract (summaries: the contract's docstrings); the readings
take the fiscal year from the query string, and a statement answers its file on request
(``format=csv`` or ``format=pdf``)."""

from __future__ import annotations

from pydantic import Field

from gateway.web.funding.pages import INSTITUTIONS, MANAGERS, READERS
from gateway.web.passthrough import Api, passthrough
from rac_shared.actor import MINISTRY_ROLES
from rac_shared.contracts import funding
from rac_shared.contracts.base import Strict

F = "/api/funding"
P = f"{F}/projects/<int:project_id>"


class YearQuery(Strict):
    fiscal_year: funding.OptionalFiscalYear = Field(
        None, title="Exercice financier", description="p. ex. « 2025-2026 » (l'exercice courant)"
    )


# fmt: off
passthrough(
    "funding",
    Api("api_funding_overview", f"GET {F}/ceracs", "funding_overview", READERS, params=YearQuery,
        summary="Financement d'un exercice (fiscal_year=2025-2026) : tous les CERAC pour le "
        "Ministère, le sien pour un CERAC"),
    Api("api_funding_figures", f"GET {F}/figures", "funding_figures", MINISTRY_ROLES,
        params=YearQuery),
    Api("api_funding_allocations", f"GET {F}/allocations", "list_funding_allocations", READERS),
    Api("api_funding_allocate", f"POST {F}/ceracs/<int:cerac_id>/allocations",
        "record_funding_allocation", MANAGERS, status=201),
    Api("api_funding_submit_project", f"POST {F}/projects", "submit_funding_project",
        INSTITUTIONS, status=201),
    Api("api_funding_project", f"GET {P}", "get_funding_project", READERS),
    Api("api_funding_decide", f"POST {P}/decision", "decide_funding_project", MANAGERS),
    Api("api_funding_allocation_schedule", f"PUT {F}/allocations/<int:allocation_id>/schedule",
        "update_allocation_schedule", MANAGERS),
    Api("api_funding_project_schedule", f"PUT {P}/schedule", "update_project_schedule",
        MANAGERS),
    Api("api_funding_pay", f"POST {F}/disbursements/<int:disbursement_id>/payment",
        "pay_funding_disbursement", MANAGERS),
    Api("api_funding_statement", f"GET {F}/ceracs/<int:cerac_id>/statement", "funding_statement",
        READERS, params=YearQuery,
        formats={"csv": "funding_statement_csv", "pdf": "funding_statement_pdf"}),
)
# fmt: on
