"""The ``/financement`` pages and ``/api/funding`` handlers rendered over billing's real funding
functions (an in-memory database behind a stand-in RPC client): what the ministry, a CERAC
and another institution see, forms re-rendered with French errors, routes' declared access."""

from __future__ import annotations

from datetime import date

import pytest
from werkzeug.wrappers import Request

from gateway.web import funding as pages
from gateway.web.framework import REGISTRY, Ctx, HttpError
from rac_shared.actor import Actor, Role
from rac_shared.clock import clock
from rac_shared.errors import DomainError
from services.billing import funding as F
from services.billing import funding_views as V
from services.billing.models import FundingDisbursement
from services.billing.schemas import (
    AllocationIn,
    DecisionIn,
    DisbursementPaymentIn,
    ProjectIn,
    ScheduleIn,
    parse,
)
from services.billing.testing import (
    CISSS_HR,
    CMV_RAC,
    LEVIS,
    LEVIS_RAC,
    MINISTRY,
    actor,
    memory_session,
)
from tests.support.gateway_app import gateway_app

TODAY = date(2014, 5, 20)
EVALUATOR = actor(Role.MINISTRY_EVALUATOR, 1, 3)


class BillingRpc:
    """Stands in for the gateway's RPC client: billing's funding RPCs over a session."""

    def __init__(self, session):
        self.session = session
        self.calls = []

    def call(self, service, method, correlation_id=None, timeout=None, **kw):
        assert service == "billing"
        self.calls.append(method)
        who = Actor.model_validate(kw.pop("actor"))
        s = self.session
        try:
            with clock.frozen_at(TODAY):
                result = self._dispatch(s, who, method, kw)
            s.commit()
            return result
        except Exception:
            s.rollback()
            raise

    def _dispatch(self, s, who, method, kw):
        year = kw.get("fiscal_year")
        if method == "funding_overview":
            return V.overview(s, who, year)
        if method == "funding_statement":
            return V.statement(s, who, kw["cerac_id"], year)
        if method == "funding_statement_csv":
            return V.statement_csv(V.statement(s, who, kw["cerac_id"], year))
        if method == "get_funding_project":
            return V.get_project(s, who, kw["project_id"])
        if method == "get_funding_allocation":
            return V.get_allocation(s, who, kw["allocation_id"])
        if method == "record_funding_allocation":
            row = F.record_allocation(s, who, kw["cerac_id"], parse(AllocationIn, kw["allocation"]))
            return V.allocation_view(row)
        if method == "submit_funding_project":
            return V.project_view(F.submit_project(s, who, parse(ProjectIn, kw["project"])))
        if method == "decide_funding_project":
            data = parse(DecisionIn, kw["decision"])
            return V.project_view(F.decide_project(s, who, kw["project_id"], data))
        if method == "update_funding_schedule":
            data = parse(ScheduleIn, kw["schedule"])
            F.replace_schedule(s, who, kw["kind"], kw["owner_id"], data)
            return {}
        if method == "pay_funding_disbursement":
            data = parse(DisbursementPaymentIn, kw["payment"])
            return V.disbursement_view(F.pay_disbursement(s, who, kw["disbursement_id"], data), "")
        raise AssertionError(method)


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


def make_ctx(session, who, path="/financement", method="GET", form=None) -> Ctx:
    app = gateway_app(BillingRpc(session))
    request = Request.from_values(path, method=method, data=form)
    # A known unread count: the page header needs no inbox (not the subject here).
    return Ctx(app=app, request=request, actor=who, session_key="clé", unread_messages=0)


def html_of(response) -> str:
    return response.get_data(as_text=True).replace("\xa0", " ").replace("&#39;", "'")


def test_declared_access_of_the_funding_routes():
    specs = {s.endpoint: s for s in REGISTRY if s.handler.__module__ == pages.__name__}
    assert len(specs) == 23
    for spec in specs.values():
        assert not spec.allows(CISSS_HR) and not spec.allows(None)  # employers, anonymous
    for name in ("funding_allocate", "funding_decide", "funding_pay", "api_funding_allocate"):
        assert specs[name].allows(MINISTRY) and not specs[name].allows(EVALUATOR)
        assert not specs[name].allows(LEVIS_RAC)
    assert specs["funding_submit_project"].allows(LEVIS_RAC)
    assert not specs["funding_submit_project"].allows(MINISTRY)
    assert specs["api_funding_figures"].allows(EVALUATOR)
    assert not specs["api_funding_figures"].allows(LEVIS_RAC)


def test_ministry_overview_allocation_over_the_cap_and_payment(session):
    ctx = make_ctx(
        session,
        MINISTRY,
        "/financement/ceracs/1/allocations",
        "POST",
        {"fiscal_year": "2014-2015", "amount": "200000", "installments": "2"},
    )
    response = pages.funding_allocate(ctx, cerac_id=1)
    assert response.status_code == 303
    assert (
        response.headers["Location"] == "/financement/ceracs/1?exercice=2014-2015&fait=allocation"
    )

    over = make_ctx(
        session,
        MINISTRY,
        "/financement/ceracs/1/allocations",
        "POST",
        {"fiscal_year": "2014-2015", "amount": "60 000,00", "installments": ""},
    )
    response = pages.funding_allocate(over, cerac_id=1)
    html = html_of(response)
    assert response.status_code == 422
    assert 'role="alert"' in html and "200 000,00 $ sont déjà alloués" in html
    assert "il reste 50 000,00 $" in html and 'value="60 000,00"' in html
    assert 'aria-invalid="true" aria-describedby="amount-error"' in html

    overview = html_of(
        pages.funding_page(make_ctx(session, MINISTRY, "/financement?exercice=2014-2015"))
    )
    assert "Cégep de Lévis" in overview and "80 %" in overview and "200 000,00 $" in overview

    statement = html_of(
        pages.funding_cerac_page(
            make_ctx(session, MINISTRY, "/financement/ceracs/1?exercice=2014-2015"), cerac_id=1
        )
    )
    assert "Retenu jusqu'au rapport 2013-2014" in statement
    assert "Paiement impossible tant que le rapport 2013-2014" in statement
    assert statement.count('action="/financement/versements/') == 1  # only the one not held
    assert "Enregistrer une allocation de fonctionnement" in statement

    payable = session.scalars(
        __import__("sqlalchemy")
        .select(FundingDisbursement)
        .where(FundingDisbursement.hold_report_year.is_(None))
    ).first()
    held = session.scalars(
        __import__("sqlalchemy")
        .select(FundingDisbursement)
        .where(FundingDisbursement.hold_report_year.is_not(None))
    ).first()
    ctx = make_ctx(session, MINISTRY, f"/financement/versements/{held.id}/paiement", "POST",
                   {"paid_on": "2014-05-20", "back": "/financement/ceracs/1"})  # fmt: skip
    with pytest.raises(HttpError) as error:
        pages.funding_pay(ctx, disbursement_id=held.id)
    assert error.value.status == 422 and "retenu" in error.value.message
    ctx = make_ctx(session, MINISTRY, f"/financement/versements/{payable.id}/paiement", "POST",
                   {"paid_on": "2014-05-20", "back": "https://ailleurs.example/"})  # fmt: skip
    response = pages.funding_pay(ctx, disbursement_id=payable.id)
    assert response.headers["Location"] == "/financement?fait=paiement"  # no open redirect

    csv_response = pages.funding_statement_csv(
        make_ctx(session, MINISTRY, "/financement/ceracs/1/releve.csv?exercice=2014-2015"),
        cerac_id=1,
    )
    assert csv_response.mimetype == "text/csv"
    assert "financement-cerac-1-2014-2015.csv" in csv_response.headers["Content-Disposition"]


def test_a_cerac_submits_a_project_and_sees_only_its_own(session):
    empty = make_ctx(session, LEVIS_RAC, "/financement/projets", "POST", {"title": ""})
    response = pages.funding_submit_project(empty)
    html = html_of(response)
    assert response.status_code == 422 and "Ce champ est obligatoire." in html
    form = {
        "title": "Formation manquante en ligne",
        "mandate_part": "development",
        "objectives": "Offrir la formation manquante à distance.",
        "period_start": "2014-06-01",
        "period_end": "2015-05-31",
        "line_label_0": "Conception",
        "line_amount_0": "30000",
        "line_label_1": "Diffusion",
        "line_amount_1": "2500,50",
    }
    response = pages.funding_submit_project(
        make_ctx(session, LEVIS_RAC, "/financement/projets", "POST", form)
    )
    assert response.status_code == 303
    project_id = int(response.headers["Location"].split("/")[-1].split("?")[0])
    html = html_of(pages.funding_project_page(make_ctx(session, LEVIS_RAC), project_id=project_id))
    assert "32 500,50 $" in html and "En attente de décision" in html
    assert "Décision du Ministère" not in html

    own = html_of(
        pages.funding_page(make_ctx(session, LEVIS_RAC, "/financement?exercice=2014-2015"))
    )
    assert "Formation manquante en ligne" in own and "Soumettre un projet de développement" in own

    other = html_of(pages.funding_page(make_ctx(session, CMV_RAC)))
    assert "n'est pas un CERAC désigné" in other and "Cégep de Lévis" not in other
    with pytest.raises(DomainError) as error:
        pages.funding_project_page(make_ctx(session, CMV_RAC), project_id=project_id)
    assert error.value.code == "not_found"
    with pytest.raises(DomainError) as error:
        pages.funding_cerac_page(make_ctx(session, CMV_RAC, "/financement/ceracs/1"), cerac_id=1)
    assert error.value.code == "not_found"

    # the ministry decides: an adjustment without a reason is re-rendered with the error
    path = f"/financement/projets/{project_id}/decision"
    adjusted = {"decision": "adjusted", "approved_amount": "25000", "reason": ""}
    decide = make_ctx(session, MINISTRY, path, "POST", adjusted)
    response = pages.funding_decide(decide, project_id=project_id)
    assert response.status_code == 422 and "Motif obligatoire." in html_of(response)
    decide = make_ctx(session, MINISTRY, path, "POST", {**adjusted, "reason": "Révisé."})
    assert pages.funding_decide(decide, project_id=project_id).status_code == 303
    html = html_of(pages.funding_project_page(make_ctx(session, MINISTRY), project_id=project_id))
    assert "Approuvé avec ajustement" in html and "Modifier l'échéancier" in html

    # the schedule must add up to the approved amount
    bad = make_ctx(session, MINISTRY, f"/financement/projets/{project_id}/echeancier", "POST",
                   {"due_on_0": "2014-07-01", "amount_0": "20000", "hold_0": ""})  # fmt: skip
    response = pages.funding_project_schedule(bad, project_id=project_id)
    assert response.status_code == 422 and "exactement 25 000,00 $" in html_of(response)
    good = make_ctx(session, MINISTRY, f"/financement/projets/{project_id}/echeancier", "POST",
                    {"due_on_0": "2014-07-01", "amount_0": "20000", "hold_0": "",
                     "due_on_1": "2015-01-01", "amount_1": "5000", "hold_1": "2014-2015",
                     "due_on_2": "", "amount_2": "", "hold_2": ""})  # fmt: skip
    assert pages.funding_project_schedule(good, project_id=project_id).status_code == 303
    html = html_of(pages.funding_project_page(make_ctx(session, LEVIS_RAC), project_id=project_id))
    assert "Retenu jusqu'au rapport 2014-2015" in html and "Modifier l'échéancier" not in html


def test_a_malformed_fiscal_year_is_a_clear_422(session):
    with pytest.raises(HttpError) as error:
        pages.funding_page(make_ctx(session, MINISTRY, "/financement?exercice=demain"))
    assert error.value.status == 422 and "AAAA-AAAA" in error.value.message
