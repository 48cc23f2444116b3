"""``rac demo`` at the clock of the 2012-2013 call, stopped half-way and run again.

The whole demo, in this process, on fresh SQLite databases: each service's steps on its own
database, the plans step calling billing and the directory through their entrypoints.
"""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import func, select

from rac import registry
from rac.demo import run_demo
from rac.migrate import migrate
from rac_shared import db as rac_db
from rac_shared.clock import MONTREAL, clock
from rac_shared.db import SessionFactory
from rac_shared.settings import reset_settings_cache

CALL_2012_CLOCK = datetime(2012, 12, 21, 10, 0, tzinfo=MONTREAL)


@pytest.fixture
def fresh_platform(tmp_path, monkeypatch):
    monkeypatch.setenv("RAC_ENV", "test")
    monkeypatch.setenv("VAR_DIR", str(tmp_path / "var"))
    for name in registry.service_names():
        monkeypatch.setenv(f"DATABASE_URL_{name.upper()}", f"sqlite:///{tmp_path / name}.db")
    reset_settings_cache()
    migrate()
    yield
    rac_db.dispose_engines()
    reset_settings_cache()


def plans_by_program() -> dict[str, list[str]]:
    from services.plans.models import Plan

    with SessionFactory("plans", registry.service("plans").metadata).transaction() as session:
        rows = session.execute(select(Plan.program_code, Plan.status)).all()
    found: dict[str, list[str]] = {}
    for code, status in rows:
        found.setdefault(code, []).append(status)
    return found


def test_the_demo_at_the_2012_clock_resumes_after_a_failure_and_is_then_idempotent(
    fresh_platform, monkeypatch
):
    from services.plans.service import PlansService

    real_issue = PlansService.issue
    calls = []

    def issue_failing_once(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("panne simulée pendant l'émission")
        return real_issue(self, *args, **kwargs)

    with clock.frozen_at(CALL_2012_CLOCK):
        monkeypatch.setattr(PlansService, "issue", issue_failing_once)
        with pytest.raises(RuntimeError, match="panne simulée"):
            run_demo()
        assert plans_by_program() == {"JEE.0K": ["draft"]}  # left half-made

        summary = run_demo()  # resumes: the same draft is completed, nothing made twice
        assert "PMO-CLV-2012-001 émis au CISSS de Chaudière-Appalaches" in summary
        assert "Financement : aucun CERAC désigné au 21 décembre 2012" in summary
        assert plans_by_program() == {
            "JEE.0K": ["issued"],
            "LCA.EJ": ["draft"],
            "LCE.4N": ["accepted"],
            "LCA.EM": ["declined"],
            "LCA.EN": ["declined"],  # and anonymised by the retention rule
        }

        again = run_demo()
        demo_plan_has_its_courtesy_translation()
    assert "Plans de mise en œuvre : déjà présents." in again
    assert plans_by_program()["JEE.0K"] == ["issued"]
    from services.billing.models import Estimate

    billing = SessionFactory("billing", registry.service("billing").metadata)
    with billing.transaction() as session:  # the 2012 estimates: TVQ 9,5 % on price + TPS
        taxes = session.scalars(select(Estimate.taxes).where(Estimate.plan_id < 9000)).first()
        assert session.scalar(select(func.count(Estimate.id))) > 0
    tps, tvq = taxes
    assert tvq["rate"] == "0.095"
    assert tvq["base"] != tps["base"]


def demo_plan_has_its_courtesy_translation() -> None:
    """The demo's issued plan, in English for its employer (the document's HTML: the PDF
    and its download are the service's and the plans flow's tests)."""
    from rac_shared.actor import Actor, OrganisationKind, Role
    from services.plans import document, views
    from services.plans.models import Plan

    with SessionFactory("plans", registry.service("plans").metadata).transaction() as session:
        plan = session.scalar(select(Plan).where(Plan.program_code == "JEE.0K"))
        employer = Actor(user_id=1, role=Role.EMPLOYER_REPRESENTATIVE,
                         organisation_id=plan.employer_id,
                         organisation_kind=OrganisationKind.EMPLOYER)  # fmt: skip
        html = document.courtesy_translation_html(views.plan_view(session, plan, employer, 1))
    assert '<html lang="en-CA">' in html and "Cost estimate" in html
    assert "Traduction de courtoisie — seule la version française fait foi" in html
    assert "CISSS de Chaudière-Appalaches" in html
