"""``rac demo``: realistic French demo data, each service seeding its own database."""

from __future__ import annotations


def run_demo() -> str:
    from gateway import demo as gateway_demo
    from gateway.models import Base as GatewayBase
    from rac_shared.db import SessionFactory
    from rac_shared.settings import get_settings

    session = SessionFactory("gateway", GatewayBase.metadata)()
    try:
        gateway_demo.seed_accounts(session)
        calendars = gateway_demo.seed_calendar_feeds(session, get_settings())
        session.commit()
        organisations, people = _directory(session)
    finally:
        session.close()
    applications = _seed_applications(organisations, people)
    scoring = _seed_scoring(organisations, people)
    reporting = _seed_reporting(organisations, people)
    plans = _seed_plans(organisations, people)
    billing = _seed_billing(organisations, people)
    return (
        "Comptes de démonstration :\n"
        + gateway_demo.logins_table()
        + "\n"
        + applications
        + "\n"
        + scoring
        + "\n"
        + reporting
        + "\n"
        + plans
        + "\n"
        + billing
        + "\n"
        + calendars
    )


def _directory(session) -> tuple[dict, dict]:
    """Organisations by code and people by e-mail, as the gateway's directory shows them."""
    from sqlalchemy import select

    from gateway.directory import organisation_view, user_view
    from gateway.models import Organisation, User

    organisations = {o.code: organisation_view(o) for o in session.scalars(select(Organisation))}
    people = {u.email: user_view(u) for u in session.scalars(select(User))}
    return organisations, people


def _seed_applications(organisations: dict, people: dict) -> str:
    """The 2012-2013 call for interest (seed 000) and two applications."""
    from rac_shared.db import SessionFactory
    from services.applications import demo
    from services.applications.models import Base

    session = SessionFactory("applications", Base.metadata)()
    try:
        summary = demo.seed(session, organisations, people)
        session.commit()
    finally:
        session.close()
    return summary


def _seed_plans(organisations: dict, people: dict) -> str:
    """The Cégep de Lévis's implementation plans for two employers (one issued)."""
    from rac_shared.db import SessionFactory
    from services.plans import demo
    from services.plans.models import Base

    session = SessionFactory("plans", Base.metadata)()
    try:
        summary = demo.seed(session, organisations, people)
        session.commit()
    finally:
        session.close()
    return summary


def _seed_billing(organisations: dict, people: dict) -> str:
    """An accepted plan's schedule with two invoices issued (one paid, one overdue), and the
    funding of the designated CERACs for the current fiscal year."""
    from rac_shared.db import SessionFactory
    from services.billing import demo
    from services.billing.models import Base

    ceracs = _designated_ceracs()
    session = SessionFactory("billing", Base.metadata)()
    try:
        summary = demo.seed(session, organisations, people, ceracs)
        session.commit()
    finally:
        session.close()
    return summary


def _seed_scoring(organisations: dict, people: dict) -> str:
    """The evaluation committee of the 2012-2013 call: scores, ranking and designations."""
    from sqlalchemy import select

    from rac_shared.db import SessionFactory
    from services.applications.demo import TITLE_2012
    from services.applications.models import Base as ApplicationsBase
    from services.applications.models import Call
    from services.scoring import demo
    from services.scoring.models import Base

    reader = SessionFactory("applications", ApplicationsBase.metadata)()
    try:  # the call's grid, as applications.grid_of_call gives it (read only)
        call = reader.scalar(select(Call).where(Call.title == TITLE_2012))
        grid = None
        if call is not None:
            grid = {
                "call_id": call.id,
                "title": call.title,
                "education_orders": list(call.education_orders),
                "experimentation_years": list(call.experimentation_years),
                "criteria": [
                    {"id": c.id, "group": c.group, "label": c.label, "weight": c.weight,
                     "threshold": c.threshold}
                    for c in sorted(call.criteria, key=lambda c: c.position)
                ],
            }  # fmt: skip
    finally:
        reader.close()
    session = SessionFactory("scoring", Base.metadata)()
    try:
        summary = demo.seed(session, grid, organisations, people)
        session.commit()
    finally:
        session.close()
    return summary


def _seed_reporting(organisations: dict, people: dict) -> str:
    """The designated CERACs' network record, support requests, reports and a special
    mandate (applications service), from the CERACs the scoring demo designated."""
    from rac_shared.db import SessionFactory
    from services.applications import demo
    from services.applications.models import Base

    ceracs = _designated_ceracs()
    session = SessionFactory("applications", Base.metadata)()
    try:
        summary = demo.seed_reporting(session, organisations, people, ceracs)
        session.commit()
    finally:
        session.close()
    return summary


def _designated_ceracs() -> list[dict]:
    """The CERACs the scoring demo designated, as ``cerac.designated`` describes them.

    The demo runs before any service does, so it hands them to the applications and billing
    demos directly instead of waiting for the events (which the demos do not publish).
    """
    from sqlalchemy import select

    from rac_shared.db import SessionFactory
    from services.scoring.models import Base, Cerac

    reader = SessionFactory("scoring", Base.metadata)()
    try:
        return [
            {
                "cerac_id": c.id,
                "organisation_id": c.organisation_id,
                "organisation_name": c.organisation_name,
                "education_order": c.education_order,
                "mandate_parts": list(c.mandate_parts),
                "experimentation_years": list(c.experimentation_years),
                "designated_on": c.designated_on,
                "call_id": c.call_id,
            }
            for c in reader.scalars(select(Cerac).order_by(Cerac.id))
        ]
    finally:
        reader.close()
