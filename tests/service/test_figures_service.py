"""The ``network_figures`` RPC of each service, over its migrated database (Alembic, as in
production): ministry only, JSON-able answers, and the parts kept by other modules of the
same service (billing's funding figures, applications' reporting figures) included so that
the dashboard calls each service once; a failing part is None, the rest still answers."""

from __future__ import annotations

import json

import pytest
from nameko.testing.services import worker_factory

from rac_shared.actor import Actor, OrganisationKind, Role
from rac_shared.errors import DomainError
from services.applications.service import ApplicationsService
from services.billing.service import BillingService
from services.plans.service import PlansService
from services.scoring.service import ScoringService

ANALYST = Actor(user_id=2, role=Role.MINISTRY_ANALYST, organisation_id=1,
                organisation_kind=OrganisationKind.MINISTRY).model_dump(mode="json")  # fmt: skip
COORDINATOR = Actor(user_id=6, role=Role.RAC_COORDINATOR, organisation_id=2,
                    organisation_kind=OrganisationKind.CEGEP).model_dump(mode="json")  # fmt: skip
EMPLOYER = Actor(user_id=13, role=Role.EMPLOYER_REPRESENTATIVE, organisation_id=5,
                 organisation_kind=OrganisationKind.EMPLOYER).model_dump(mode="json")  # fmt: skip

SERVICES = {
    "applications": ApplicationsService,
    "scoring": ScoringService,
    "plans": PlansService,
    "billing": BillingService,
}
EXPECTED_KEYS = {
    "applications": {"applications_per_call", "statuses", "total", "reporting"},
    "scoring": {"ceracs_per_order", "max_per_order", "total"},
    "plans": {"per_month", "acceptance", "candidates_per_program", "by_status", "total"},
    "billing": {"per_month", "totals", "outstanding", "funding"},
}


@pytest.fixture
def call(service_database):
    made = {}

    def run(name: str, actor: dict, **kwargs):
        if name not in made:
            made[name] = service_database(name)
        with made[name]() as session:
            service = worker_factory(SERVICES[name], db=session)
            return service, service.network_figures(actor, **kwargs)

    return run


@pytest.mark.parametrize("name", list(SERVICES))
def test_the_ministry_reads_each_services_figures_as_json(call, name):
    _, figures = call(name, ANALYST)
    assert EXPECTED_KEYS[name] <= set(figures)
    json.dumps(figures)  # no Decimal, no date: what crosses the bus as JSON


@pytest.mark.parametrize("name", list(SERVICES))
def test_institutions_and_employers_are_refused(call, name):
    for outsider in (COORDINATOR, EMPLOYER):
        with pytest.raises(DomainError) as refused:
            call(name, outsider)
        assert refused.value.code == "forbidden"


def test_billing_includes_the_funding_of_the_fiscal_year_asked(call):
    _, figures = call("billing", ANALYST, fiscal_year="2024-2025")
    assert figures["funding"]["fiscal_year"] == "2024-2025"
    assert figures["funding"]["cap"] == "250000.00"
    assert figures["funding"]["ceracs"] == []


def test_applications_include_the_reporting_figures(call):
    _, figures = call("applications", ANALYST)
    reporting = figures["reporting"]
    assert reporting["late_reports"] == [] and reporting["support_requests"] == []


def test_a_failing_part_is_none_and_the_rest_still_answers(call, monkeypatch):
    def broken(self, actor, fiscal_year=None):
        raise RuntimeError("funding tables unavailable")

    monkeypatch.setattr(BillingService, "funding_figures", broken)
    _, figures = call("billing", ANALYST)
    assert figures["funding"] is None
    assert figures["per_month"] == [] and figures["outstanding"] == "0.00"
