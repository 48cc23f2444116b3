"""The ``/financement`` pages and ``/api/funding`` handlers over the real billing service (its
entrypoints, through the funding contract, in a worker over an in-memory database): what the
ministry, a CERAC and another institution see, forms re-rendered with French errors, routes'
declared access."""

from __future__ import annotations

import re
from datetime import date

import pytest
import sqlalchemy

import gateway.web.funding  # noqa: F401  (registers the routes)
from gateway.web.framework import REGISTRY
from rac_shared.actor import Role
from rac_shared.clock import clock
from services.billing import funding as F
from services.billing.models import FundingDisbursement
from services.billing.service import BillingService
from services.billing.testing import (
    CISSS_HR,
    CMV_RAC,
    LEVIS,
    LEVIS_RAC,
    MINISTRY,
    actor,
    memory_session,
)
from tests.support.pages import Browser, ServiceRpc

TODAY = date(2014, 5, 20)
EVALUATOR = actor(Role.MINISTRY_EVALUATOR, 1, 3)


@pytest.fixture
def session():
    session = memory_session()
    with clock.frozen_at(date(2013, 6, 1)):
        F.upsert_cerac(
            session,
            cerac_id=1,
            organisation_id=LEVIS,
            name="Cégep de Lévis",
            education_order="collégial",
            mandate_parts=["offer", "quality", "development"],
            experimentation_years=["2013-2014", "2014-2015"],
            designated_on=date(2013, 5, 31),
        )
        session.commit()
    yield session
    session.close()


def browser(session, who) -> Browser:
    return Browser(ServiceRpc(BillingService, session, today=TODAY), who)


def test_declared_access_of_the_funding_routes():
    # The area's routes (pages and API, the API's table included), by path.
    specs = {s.endpoint: s for s in REGISTRY if s.path.startswith(("/financement", "/api/funding"))}
    assert len(specs) == 27  # the allocations' list: page, CSV, XLSX and API
    for spec in specs.values():
        assert not spec.allows(CISSS_HR) and not spec.allows(None)  # employers, anonymous
    for name in ("funding_allocate", "funding_decide", "funding_pay", "api_funding_allocate"):
        assert specs[name].allows(MINISTRY) and not specs[name].allows(EVALUATOR)
        assert not specs[name].allows(LEVIS_RAC)
    assert specs["funding_submit_project"].allows(LEVIS_RAC)
    assert not specs["funding_submit_project"].allows(MINISTRY)
    assert specs["api_funding_figures"].allows(EVALUATOR)
    assert not specs["api_funding_figures"].allows(LEVIS_RAC)


def test_the_allocations_list_puts_what_is_payable_first_and_exports_every_row(session):
    ministry = browser(session, MINISTRY)
    for year, amount in (("2013-2014", "100000"), ("2014-2015", "60000")):
        response = ministry.post(
            "/financement/ceracs/1/allocations",
            {"fiscal_year": year, "amount": amount, "installments": "2"},
        )
        assert response.status_code == 303
    page = ministry.get("/financement/allocations").html
    assert "2 allocations de fonctionnement" in page
    # 2013-2014's first installment is payable today: it comes first.
    assert page.index("2013-2014") < page.index("2014-2015")
    by_year = ministry.get("/financement/allocations?tri=exercice").html
    assert by_year.index("2014-2015") < by_year.index("2013-2014")
    one = ministry.get("/financement/allocations?tri=exercice&exercice=2014-2015").html
    assert "1 allocation de fonctionnement" in one
    assert 'href="/financement/allocations/liste.csv?tri=exercice&amp;exercice=2014-2015"' in one
    csv_export = ministry.get("/financement/allocations/liste.csv?tri=exercice").response
    header, *rows = csv_export.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert header.startswith("CERAC;Ordre d'enseignement;Exercice;Montant alloué;Versé")
    assert [r.split(";")[2] for r in rows] == ["2014-2015", "2013-2014"]
    own = browser(session, LEVIS_RAC).get("/api/funding/allocations?limit=1").response.json
    assert own["count"] == 2 and len(own["items"]) == 1 and own["next_cursor"]
    assert browser(session, CMV_RAC).get("/api/funding/allocations").response.json["count"] == 0
    forged = (
        browser(session, CMV_RAC)
        .get(f"/api/funding/allocations?limit=1&cursor={own['next_cursor']}")
        .response
    )
    assert forged.status_code == 400 and "autre liste" in forged.json["error"]["message"]


def test_ministry_overview_allocation_over_the_cap_and_payment(session):
    ministry = browser(session, MINISTRY)
    response = ministry.post(
        "/financement/ceracs/1/allocations",
        {"fiscal_year": "2014-2015", "amount": "200000", "installments": "2"},
    )
    assert response.status_code == 303
    assert (
        response.headers["Location"] == "/financement/ceracs/1?exercice=2014-2015&fait=allocation"
    )

    response = ministry.post(
        "/financement/ceracs/1/allocations",
        {"fiscal_year": "2014-2015", "amount": "60 000,00", "installments": ""},
    )
    html = response.html
    assert response.status_code == 422
    assert 'role="alert"' in html and "200 000,00 $ sont déjà alloués" in html
    assert "il reste 50 000,00 $" in html and 'value="60 000,00"' in html
    # The amount field is marked and described by its error (the ids of the shared fields).
    assert (
        'aria-describedby="champ-amount-erreur" aria-invalid="true"' in html
        and 'id="champ-amount-erreur">Au plus 50 000,00 $.' in html
    )

    overview = ministry.get("/financement?exercice=2014-2015").html
    assert "Cégep de Lévis" in overview and "80 %" in overview and "200 000,00 $" in overview

    statement = ministry.get("/financement/ceracs/1?exercice=2014-2015").html
    assert "Retenu jusqu'au rapport 2013-2014" in statement
    assert "Paiement impossible tant que le rapport 2013-2014" in statement
    assert statement.count('action="/financement/versements/') == 1  # only the one not held
    assert "Enregistrer une allocation de fonctionnement" in statement

    payable = session.scalars(
        sqlalchemy.select(FundingDisbursement).where(FundingDisbursement.hold_report_year.is_(None))
    ).first()
    held = session.scalars(
        sqlalchemy.select(FundingDisbursement).where(
            FundingDisbursement.hold_report_year.is_not(None)
        )
    ).first()
    refused = ministry.post(
        f"/financement/versements/{held.id}/paiement",
        {"paid_on": "2014-05-20", "back": "/financement/ceracs/1"},
    )
    # Refused on the page it was sent from, with the service's reason.
    assert refused.status_code == 422 and "retenu" in refused.html
    assert "État du financement — Cégep de Lévis" in refused.html
    response = ministry.post(
        f"/financement/versements/{payable.id}/paiement",
        {"paid_on": "2014-05-20", "back": "https://ailleurs.example/"},
    )
    assert response.headers["Location"] == "/financement?fait=paiement"  # no open redirect

    csv_response = ministry.get("/financement/ceracs/1/releve.csv?exercice=2014-2015").response
    assert csv_response.mimetype == "text/csv"
    assert "financement-cerac-1-2014-2015.csv" in csv_response.headers["Content-Disposition"]
    assert csv_response.get_data().startswith("\ufeffCERAC;Exercice".encode())  # UTF-8, BOM
    api = "/api/funding/ceracs/1/statement?fiscal_year=2014-2015"
    assert ministry.get(api).response.json["fiscal_year"] == "2014-2015"
    api_csv = ministry.get(f"{api}&format=csv").response  # the same file, asked of the API
    assert api_csv.get_data() == csv_response.get_data()


def test_a_cerac_submits_a_project_and_sees_only_its_own(session):
    levis = browser(session, LEVIS_RAC)
    response = levis.post("/financement/projets", {"title": ""})
    assert response.status_code == 422 and "Ce champ est obligatoire." in response.html
    form = {  # the budget's rows named by their path in the contract (budget_lines.N.…)
        "title": "Formation manquante en ligne",
        "mandate_part": "development",
        "objectives": "Offrir la formation manquante à distance.",
        "period_start": "2014-06-01",
        "period_end": "2015-05-31",
        "budget_lines.0.label": "Conception",
        "budget_lines.0.amount": "30000",
        "budget_lines.1.label": "Diffusion",
        "budget_lines.1.amount": "2500,50",
    }
    response = levis.post("/financement/projets", form)
    assert response.status_code == 303
    project_id = int(response.headers["Location"].split("/")[-1].split("?")[0])
    html = levis.get(f"/financement/projets/{project_id}").html
    assert "32 500,50 $" in html and "En attente de décision" in html
    assert "Décision du Ministère" not in html

    own = levis.get("/financement?exercice=2014-2015").html
    assert "Formation manquante en ligne" in own and "Soumettre un projet de développement" in own

    cmv = browser(session, CMV_RAC)
    other = cmv.get("/financement").html
    assert "n'est pas un CERAC désigné" in other and "Cégep de Lévis" not in other
    assert cmv.get(f"/financement/projets/{project_id}").status_code == 404
    assert cmv.get("/financement/ceracs/1").status_code == 404

    # the ministry decides: an adjustment without a reason is re-rendered with the error
    ministry = browser(session, MINISTRY)
    path = f"/financement/projets/{project_id}/decision"
    adjusted = {"decision": "adjusted", "approved_amount": "25000", "reason": ""}
    response = ministry.post(path, adjusted)
    assert response.status_code == 422 and "Motif obligatoire." in response.html
    assert 'value="25000"' in response.html  # what was typed stays
    assert ministry.post(path, {**adjusted, "reason": "Révisé."}).status_code == 303
    html = ministry.get(f"/financement/projets/{project_id}").html
    assert "Approuvé avec ajustement" in html and "Modifier l'échéancier" in html

    # the schedule must add up to the approved amount (rows named items.N.…)
    schedule = f"/financement/projets/{project_id}/echeancier"
    bad = ministry.post(
        schedule,
        {"items.0.due_on": "2014-07-01", "items.0.amount": "20000", "items.0.hold_report_year": ""},
    )
    assert bad.status_code == 422 and "exactement 25 000,00 $" in bad.html
    good = ministry.post(
        schedule,
        {"items.0.due_on": "2014-07-01", "items.0.amount": "20000", "items.0.hold_report_year": "",
         "items.1.due_on": "2015-01-01", "items.1.amount": "5000",
         "items.1.hold_report_year": "2014-2015",
         "items.2.due_on": "", "items.2.amount": "", "items.2.hold_report_year": ""},
    )  # fmt: skip
    assert good.status_code == 303
    again = ministry.get(f"/financement/projets/{project_id}").html  # the unpaid rows, as typed
    assert re.search(r'name="items\.1\.amount"[^>]*value="5 000,00"', again), again
    html = levis.get(f"/financement/projets/{project_id}").html
    assert "Retenu jusqu'au rapport 2014-2015" in html and "Modifier l'échéancier" not in html


def test_a_malformed_fiscal_year_is_a_clear_422(session):
    page = browser(session, MINISTRY).get("/financement?exercice=demain")
    assert page.status_code == 422 and "AAAA-AAAA" in page.html


def test_each_funding_page_asks_the_billing_service_once(session):
    rpc = ServiceRpc(BillingService, session, today=TODAY)
    for who, path in (
        (MINISTRY, "/financement"),
        (MINISTRY, "/financement/ceracs/1"),
        (LEVIS_RAC, "/financement"),
        (LEVIS_RAC, "/financement/projets/nouveau"),
    ):
        rpc.calls.clear()
        page = Browser(rpc, who).get(path)
        assert page.status_code == 200, path
        assert page.headers["X-RAC-RPC"] == "billing=1" and len(rpc.calls) == 1, path
    api = Browser(rpc, MINISTRY).get("/api/funding/ceracs?fiscal_year=2014-2015")
    assert api.status_code == 200 and rpc.calls[-1] == "funding_overview"
    assert api.response.json["fiscal_year"] == "2014-2015"
