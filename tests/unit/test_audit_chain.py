"""The audit trail's hash chain on the gateway's tables (SQLite): entries chain in order,
and an entry altered, removed or inserted, or the end cut off, is named by ``verify_chain``;
a service's record is appended once per event and reads as the service said it."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import create_engine, delete, update
from sqlalchemy.orm import Session

from gateway import audit
from gateway.models import AuditChainHead, AuditEntry, Base, Organisation, User
from rac_shared import events as ev
from rac_shared.actor import Actor, OrganisationKind, Role
from rac_shared.audit import AUDIT_EVENTS, AuditSubject, Change, SubjectType
from rac_shared.clock import clock
from rac_shared.events import Envelope
from rac_shared.formatting import money
from tests.support.typography import ordinary_spaces

NOW = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)
ANALYST = Actor(
    user_id=2,
    role=Role.MINISTRY_ANALYST,
    organisation_id=1,
    organisation_kind=OrganisationKind.MINISTRY,
    full_name="François Côté",
)


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as db:
        db.add(Organisation(id=1, kind="ministry", name="Ministère", code="MES"))
        db.add(
            User(
                id=2, email="analyste@mes.demo.quebec", full_name="François Côté",
                role="ministry_analyst", organisation_id=1, password_hash="x", active=True,
                session_version=1, created_at=NOW,
            )
        )  # fmt: skip
        db.commit()
        yield db


def chain_of(session, count: int) -> None:
    with clock.frozen_at(NOW):
        for n in range(count):
            audit.record(session, action=f"fait_{n}", summary=f"Fait no {n}", actor=ANALYST)
    session.commit()


def test_entries_chain_in_order_and_verify(session):
    chain_of(session, 5)
    entries = session.query(AuditEntry).order_by(AuditEntry.seq).all()
    assert [e.seq for e in entries] == [1, 2, 3, 4, 5]
    assert entries[0].prev_hash == audit.GENESIS
    assert all(b.prev_hash == a.hash for a, b in zip(entries, entries[1:], strict=False))
    assert session.get(AuditChainHead, 1).hash == entries[-1].hash
    assert audit.verify_chain(session) == audit.Verdict(5)


@pytest.mark.parametrize(
    ("tamper", "broken_at", "reason"),
    [
        (update(AuditEntry).where(AuditEntry.seq == 3).values(summary="Rien"), 3, "modifié"),
        (update(AuditEntry).where(AuditEntry.seq == 2).values(actor_name="X"), 2, "modifié"),
        (delete(AuditEntry).where(AuditEntry.seq == 4), 4, "manque"),
        (delete(AuditEntry).where(AuditEntry.seq == 5), 5, "fin du journal"),
    ],
)
def test_a_tampered_chain_names_its_first_broken_link(session, tamper, broken_at, reason):
    chain_of(session, 5)
    session.execute(tamper)
    session.commit()
    verdict = audit.verify_chain(session)
    assert not verdict.intact
    assert verdict.broken_at == broken_at and reason in verdict.reason


def test_an_entry_rewritten_with_a_fresh_hash_breaks_the_next_link(session):
    chain_of(session, 4)
    forged = session.query(AuditEntry).filter_by(seq=2).one()
    forged.summary = "Autre chose"
    forged.hash = audit.entry_hash(forged, forged.prev_hash)  # recomputed by the forger
    session.commit()
    verdict = audit.verify_chain(session)
    assert verdict.broken_at == 3 and "ne suit pas" in verdict.reason


def test_a_service_record_is_appended_once_and_reads_as_recorded(session):
    payload = AUDIT_EVENTS["applications"](
        subject_type=SubjectType.APPLICATION,
        subject_id="12",
        subject_label="AIC-2012-CLV",
        action="complements_requested",
        summary="Compléments demandés : signature de la direction générale",
        actor_user_id=2,
        actor_name="François Côté",
        organisation_id=4,
        changes=[Change(field="Statut", before="En analyse", after="Compléments demandés")],
        occurred_at=NOW,
    )
    envelope = Envelope.wrap(payload, correlation_id="abc")
    assert envelope.source == "applications"
    assert audit.append_fact(session, envelope, envelope.payload_as(type(payload)))
    assert not audit.append_fact(session, envelope, payload)  # redelivered: nothing added
    session.commit()
    [entry] = audit.history(session, "application", "12")
    assert entry["source"] == "applications" and entry["actor_name"] == "François Côté"
    assert entry["changes"] == [
        {"field": "Statut", "before": "En analyse", "after": "Compléments demandés"}
    ]
    assert audit.verify_chain(session).intact


def test_a_domain_event_names_its_decider_and_a_plan_gathers_its_versions(session):
    decided = ev.CeracDesignated(
        cerac_id=1, evaluation_id=7, application_id=12, call_id=1, call_title="Appel 2012",
        organisation_id=4, organisation_name="Cégep de Lévis", reference="AIC-2012-CLV",
        education_order="collégial", mandate_parts=[], experimentation_years=[],
        decision_date=NOW.date(), total=Decimal("82.5"), below_threshold=False,
        decided_by_user_id=2,
    )  # fmt: skip
    audit.append_fact(session, Envelope.wrap(decided), decided)
    for version in (1, 2):
        issued = ev.PlanIssued(
            plan_id=3, version=version, reference="PL-2026-003", institution_id=4, employer_id=5,
            issued_on=NOW.date(), acceptance_deadline=NOW, content_hash="0" * 64,
        )  # fmt: skip
        audit.append_fact(session, Envelope.wrap(issued), issued)
    other = ev.PlanIssued(
        plan_id=31, version=1, reference="PL-2026-031", institution_id=4, employer_id=5,
        issued_on=NOW.date(), acceptance_deadline=NOW, content_hash="0" * 64,
    )  # fmt: skip
    audit.append_fact(session, Envelope.wrap(other), other)
    session.commit()
    [designation] = audit.history(session, "designation", "7")
    assert designation["actor_name"] == "François Côté"
    assert designation["changes"][0]["after"] == "Désignée"
    plan = audit.history(session, "plan", "3")
    assert [e["subject_id"] for e in plan] == ["3.1", "3.2"]  # not plan 31's


def test_the_journal_filters_and_a_record_without_a_name_takes_its_requester(session):
    correlation = uuid.uuid4().hex
    with clock.frozen_at(NOW):
        audit.append(
            session,
            AuditEntry(kind=audit.REQUEST, source="gateway", at=NOW, user_id=2,
                       actor_name="François Côté", method="POST", path="/factures/1/paiements",
                       action="record_payment", status=303, correlation_id=correlation),
        )  # fmt: skip
        paid = ev.PaymentRecorded(
            payment_id=1, invoice_id=1, number="CLV-2026-0001", institution_id=4, employer_id=5,
            paid_on=NOW.date(), amount=Decimal("100.00"), method="cheque",
            balance=Decimal("50.00"),
        )  # fmt: skip
        audit.append_fact(session, Envelope.wrap(paid, correlation_id=correlation), paid)
    session.commit()
    from gateway.schemas import JournalQuery

    entries, more = audit.journal(session, JournalQuery(objet=SubjectType.INVOICE))
    assert not more and len(entries) == 1
    assert entries[0]["actor_name"] == "François Côté"  # from the request that caused it
    assert entries[0]["changes"] == [
        {"field": "Solde", "before": money(Decimal("150")), "after": money(Decimal("50"))}
    ]
    assert audit.journal(session, JournalQuery(texte="paiements"))[0][0]["kind"] == "request"
    assert audit.journal(session, JournalQuery(personne="côté"))[0]  # case-insensitive
    assert AuditSubject(type="plan", id=3).id == "3"


# -- the pages, rendered by the real app over this database ----------------------------------


def test_the_journal_and_a_history_render_and_each_reading_is_recorded(session):
    from sqlalchemy import select
    from sqlalchemy.orm import sessionmaker

    from tests.support.pages import Browser

    chain_of(session, 3)
    paid = ev.PaymentRecorded(
        payment_id=1, invoice_id=1, number="CLV-2026-0001", institution_id=4, employer_id=5,
        paid_on=NOW.date(), amount=Decimal("100.00"), method="cheque", balance=Decimal("0"),
    )  # fmt: skip
    audit.append_fact(session, Envelope.wrap(paid), paid)
    session.commit()
    browser = Browser(rpc=None, actor=ANALYST)
    browser.app.session_factory = sessionmaker(bind=session.get_bind())
    journal = browser.client.get("/journal?objet=invoice")
    assert journal.status_code == 200
    text = ordinary_spaces(journal.get_data(as_text=True))
    assert "Paiement de 100,00" in text and "Solde : " in text
    assert 'href="/historique/invoice/1"' in text
    page = browser.client.get("/historique/invoice/1")
    assert page.status_code == 200
    assert "Historique — Facture CLV-2026-0001" in page.get_data(as_text=True)
    assert browser.client.get("/historique/inconnu/1").status_code == 404
    csv_export = browser.client.get("/journal.csv?nature=record")
    assert csv_export.get_data().decode("utf-8-sig").startswith("N°;Date et heure;")
    session.expire_all()
    readings = session.scalars(
        select(AuditEntry.action).where(AuditEntry.kind == audit.READ).order_by(AuditEntry.seq)
    ).all()
    assert readings == ["journal_read", "history_read", "journal_exported"]
    assert audit.verify_chain(session).intact
