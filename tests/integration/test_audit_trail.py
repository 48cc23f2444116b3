"""The audit trail over the real platform (PostgreSQL, RabbitMQ): the demo's history
chained by ``rac demo``, a service's fact reaching the chain over the bus once and named
after the person whose request caused it, a service's own ``audit.recorded`` entry, the
journal's filters and CSV export, every reading recorded, and ``rac audit verify`` naming
the first broken link of a tampered chain."""

from __future__ import annotations

import csv
import io
import os
import signal
import subprocess

import pytest
from sqlalchemy import text

from rac_shared.audit import AUDIT_EVENTS, Change, SubjectType
from rac_shared.clock import clock
from tests.support.platform import BIN, Platform
from tests.support.polling import wait_until

pytestmark = pytest.mark.integration

ADMIN = "admin@mes.demo.quebec"
ANALYST = "analyste@mes.demo.quebec"
COORDINATOR = "rac@cegeplevis.demo.quebec"


@pytest.fixture(scope="module")
def analyst(platform) -> str:
    return platform.token(ANALYST)


def history(platform, token, subject_type, subject_id) -> list[dict]:
    response = platform.api("GET", f"/api/audit/history/{subject_type}/{subject_id}", token)
    assert response.status_code == 200, response.text
    return response.json()["entries"]


def test_the_demo_history_is_chained_and_verifies(platform, analyst):
    entries = platform.api("GET", "/api/audit/journal?objet=plan_version", analyst).json()
    summaries = [e["summary"] for e in entries["entries"]]
    assert any("acceptée par Julie Morin" in s for s in summaries)
    assert any("refusée par Éric Poulin" in s for s in summaries)
    declined = next(e for e in entries["entries"] if "refusée" in e["summary"])
    assert declined["changes"] == [
        {"field": "Statut de la version 1", "before": "Émise", "after": "Refusée"}
    ]
    plan_id = declined["subject_id"].split(".")[0]
    # The plan's history gathers its version's entries and its estimate's (billing's own).
    gathered = history(platform, analyst, "plan", plan_id)
    assert {(e["subject_type"], e["subject_id"], e["action"]) for e in gathered} >= {
        ("plan_version", f"{plan_id}.1", "issued"),
        ("plan_version", f"{plan_id}.1", "declined"),
        ("estimate", f"{plan_id}.1", "saved"),
    }
    verified = platform.rac("audit", "verify")
    assert "Journal d'audit intact" in verified.stdout


def demo_rows(platform) -> dict[str, int]:
    """What ``rac demo`` makes, counted in each service's own database."""
    tables = {
        "applications": ("calls", "applications"),
        "scoring": ("ceracs",),
        "plans": ("plans", "plan_versions"),
        "billing": ("estimates", "invoices", "credit_notes", "payments", "cancellation_costs"),
        "gateway": ("users", "audit_log"),
    }
    found = {}
    for service, names in tables.items():
        with platform.engine(service).connect() as connection:
            for name in names:
                found[name] = connection.execute(text(f"SELECT count(*) FROM {name}")).scalar()
    return found


def test_rac_demo_at_the_2012_clock_resumes_after_a_kill_then_adds_nothing(tmp_path_factory):
    """``RAC_FROZEN_NOW=2012-12-21T10:00 rac demo`` on fresh databases of its own (no service
    runs: the demo comes before them), killed in the middle (the first plans made, billing
    not reached), run again: it completes; a third run adds nothing."""
    fresh = Platform(
        tmp_path_factory.mktemp("demo2012"), extra_env={"RAC_FROZEN_NOW": "2012-12-21T10:00"}
    )
    try:
        fresh.prepare(demo=False)
        demo = subprocess.Popen(
            [str(BIN / "rac"), "demo", "--quiet"],
            env=fresh.env,
            start_new_session=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        with fresh.engine("plans").connect() as connection:

            def some_plan_accepted():
                return (
                    demo.poll() is not None
                    or connection.execute(
                        text("SELECT count(*) FROM plans WHERE status = 'accepted'")
                    ).scalar()
                )

            wait_until(some_plan_accepted, timeout=600, message="the demo made no plan")
        assert demo.poll() is None, "the demo ended before it could be killed"
        os.killpg(demo.pid, signal.SIGKILL)
        demo.wait(30)
        with fresh.engine("billing").connect() as connection:
            assert not connection.execute(text("SELECT count(*) FROM invoices")).scalar()

        resumed = fresh.rac("demo", timeout=900)
        assert "PMO-CLV-2012-" in resumed.stdout
        assert "facture finale des coûts engagés" in resumed.stdout
        made = demo_rows(fresh)
        assert made["invoices"] and made["cancellation_costs"] == 1 and made["audit_log"]
        with fresh.engine("plans").connect() as connection:
            codes = connection.execute(text("SELECT program_code FROM plans")).scalars().all()
        assert len(codes) == len(set(codes)) == 6

        again = fresh.rac("demo", timeout=900)
        assert "Plans de mise en œuvre : déjà présents." in again.stdout
        assert "Journal d'audit : 0 fait ajouté" in again.stdout
        assert demo_rows(fresh) == made
        assert "Journal d'audit intact" in fresh.rac("audit", "verify").stdout
    finally:
        fresh.stop()


def test_a_payment_recorded_through_the_bus_is_chained_once_with_its_author(platform, analyst):
    coordinator = platform.token(COORDINATOR)
    invoices = platform.api("GET", "/api/billing/invoices", coordinator).json()["items"]
    due = next(i for i in invoices if float(i["balance"]) > 10)
    response = platform.api(
        "POST",
        f"/api/billing/invoices/{due['id']}/payments",
        coordinator,
        json={"paid_on": clock.today().isoformat(), "amount": "10.00", "method": "cheque"},
    )
    assert response.status_code == 201, response.text

    def recorded():
        entries = history(platform, analyst, "invoice", due["id"])
        return [e for e in entries if e["action"] == "payment_recorded" and "10,00" in e["summary"]]

    [entry] = wait_until(recorded, timeout=60, message="the payment's entry")
    assert entry["source"] == "billing" and entry["kind"] == "record"
    # billing's event names nobody: the trail names whoever's request caused it.
    assert entry["actor_name"] == "Sophie Bélanger"
    assert entry["changes"][0]["field"] == "Solde"
    with platform.engine("gateway").connect() as connection:
        request = connection.execute(
            text(
                "SELECT path, user_id FROM audit_log WHERE correlation_id = :c AND kind = 'request'"
            ),
            {"c": entry["correlation_id"]},
        ).one()
    assert request.path == f"/api/billing/invoices/{due['id']}/payments"


def test_a_service_adds_its_own_entry_once_and_the_journal_shows_and_exports_it(platform, analyst):
    payload = AUDIT_EVENTS["applications"](
        subject_type=SubjectType.APPLICATION,
        subject_id="2",
        subject_label="CERAC-2012-CMV-0002",
        action="complements_requested",
        summary="Compléments demandés : la résolution du conseil d'administration",
        actor_user_id=None,
        actor_name="François Côté",
        organisation_id=None,
        changes=[Change(field="Statut", before="En analyse", after="Compléments demandés")],
        occurred_at=clock.now(),
    )
    envelope = platform.publish_event(payload)
    platform.publish_event(payload, envelope)  # delivered twice: chained once

    def entries():
        found = [
            e
            for e in history(platform, analyst, "application", "2")
            if e["summary"] == payload.summary  # the demo's own request is another entry
        ]
        return found or None

    wait_until(entries, timeout=60, message="the service's own entry")
    with platform.engine("gateway").connect() as connection:
        count = connection.execute(
            text("SELECT count(*) FROM audit_log WHERE event_id = :e"),
            {"e": str(envelope.event_id)},
        ).scalar()
    assert count == 1

    journal = platform.api("GET", "/api/audit/journal?objet=application&texte=résolution", analyst)
    assert [e["action"] for e in journal.json()["entries"]] == ["complements_requested"]
    cookie = platform.session_cookie(ANALYST)
    exported = platform.api(
        "GET", "/journal.csv?objet=application", cookies={"rac_session": cookie}
    )
    assert exported.status_code == 200
    assert exported.headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0][:3] == ["N°", "Date et heure", "Nature"]
    assert any("En analyse → Compléments demandés" in cell for row in rows for cell in row)
    # An institution does not read the trail.
    assert platform.api("GET", "/api/audit/journal", platform.token(COORDINATOR)).status_code == 403


def test_reading_the_journal_is_recorded(platform, analyst):
    platform.api("GET", "/api/audit/journal?personne=Bélanger", analyst)
    readings = platform.api("GET", "/api/audit/journal?nature=read", analyst).json()["entries"]
    assert any(
        e["action"] == "journal_read"
        and e["actor_name"] == "François Côté"
        and "personne = Bélanger" in e["summary"]
        for e in readings
    )


def test_verify_names_the_first_broken_link(platform):
    assert platform.rac("audit", "verify").returncode == 0
    with platform.engine("gateway").begin() as connection:
        seq = connection.execute(
            text("SELECT min(seq) FROM audit_log WHERE kind = 'record' AND source = 'billing'")
        ).scalar()
        connection.execute(
            text("UPDATE audit_log SET summary = 'Facture annulée' WHERE seq = :s"), {"s": seq}
        )
    broken = platform.rac("audit", "verify", check=False)
    assert broken.returncode == 1
    assert f"rompu à l'entrée n° {seq} : son contenu a été modifié" in broken.stdout
