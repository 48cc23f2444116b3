"""The costs incurred of a cancelled plan in a real Chromium against the whole platform: the
plan's estimate is saved by RPC and its acceptance and cancellation published as the plans
service would; the Cégep Marie-Victorin's coordinator finds the plan on the invoices page,
records the work done since the last billed installment line by line and per
candidate-worker, is refused above the estimate with the field marked, then issues the final
invoice and opens it."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from nameko.standalone.rpc import ClusterRpcProxy
from playwright.sync_api import Page, expect
from sqlalchemy import text

from rac_shared import events as ev
from rac_shared.clock import clock
from services.billing.testing import estimate_spec
from tests.browser.fixtures_browser import (  # noqa: F401 - fixtures
    browser_fixture,
    context_fixture,
    page_fixture,
)
from tests.browser.test_login_pages import assert_accessible_basics, log_in
from tests.integration.test_billing_flow import actor_of
from tests.support.polling import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.browser]

COORDINATOR = "rac@cmv.demo.quebec"
PLAN_ID = 6001
REFERENCE = "PMO-CMV-2026-6001"
PEOPLE = [(61, "Claire Dion"), (62, "Samuel Lavoie")]


def cancelled_plan(platform) -> None:
    """An accepted plan of the Cégep Marie-Victorin with the Boulangerie Saint-Méthode inc.,
    its first installment (30 %) invoiced, cancelled yesterday by the bakery."""
    token = platform.token(COORDINATOR)
    actor = actor_of(platform, token)
    admin = platform.token("admin@mes.demo.quebec")
    organisations = platform.api("GET", "/api/organisations", admin).json()["organisations"]
    ids = {o["code"]: o["id"] for o in organisations}
    facts = {
        "plan_id": PLAN_ID,
        "version": 1,
        "reference": REFERENCE,
        "institution_id": ids["CMV"],
        "employer_id": ids["BSM"],
        "candidate_count": len(PEOPLE),
        "accepted_version": None,
    }
    with ClusterRpcProxy({"AMQP_URI": platform.amqp_uri}, timeout=60) as cluster:
        cluster.billing.save_estimate(actor=actor, plan=facts, estimate=estimate_spec())
        cluster.billing.freeze_estimate(actor=actor, plan_id=PLAN_ID, version=1)
    accepted_at = clock.now() - timedelta(days=40)
    parties = {"institution_id": ids["CMV"], "employer_id": ids["BSM"]}
    platform.publish_event(
        ev.PlanAccepted(
            plan_id=PLAN_ID,
            version=1,
            reference=REFERENCE,
            accepted_at=accepted_at,
            accepted_by="Éric Poulin",
            **parties,
        )
    )
    path = f"/api/billing/plans/{PLAN_ID}/costs-incurred"

    def state() -> str:
        response = platform.api("GET", path, token)
        return response.json()["state"] if response.status_code == 200 else ""

    wait_until(lambda: state() == "unavailable", message="plan.accepted not consumed")
    as_of = (clock.today() - timedelta(days=40)).isoformat()
    result = platform.rac("jobs", "run", "invoicing", "--as-of", as_of)
    assert json.loads(result.stdout.strip().splitlines()[-1])["issued"] == 1
    platform.publish_event(
        ev.PlanCancelled(
            plan_id=PLAN_ID,
            version=1,
            reference=REFERENCE,
            cancelled_on=clock.today() - timedelta(days=1),
            cancelled_by_party="employer",
            reason="Fermeture temporaire de la boulangerie",
            candidates=[
                ev.CancelledPlanCandidate(candidate_id=i, full_name=name) for i, name in PEOPLE
            ],
            **parties,
        )
    )
    wait_until(lambda: state() == "open", message="plan.cancelled not consumed")


def test_the_coordinator_records_the_costs_incurred_and_issues_the_final_invoice(
    platform, page: Page, artefacts
):
    cancelled_plan(platform)
    log_in(page, COORDINATOR)
    page.goto("/facturation")
    section = page.locator("section", has=page.get_by_role("heading", name=re.compile("annulés")))
    section.get_by_role("link", name="Inscrire les coûts engagés").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Coûts engagés — plan {REFERENCE}")
    assert_accessible_basics(page)
    expect(page.locator("main")).to_contain_text("4 788,00 $")  # 6 840,00 less the 30 % billed

    hours = page.get_by_label("Accompagnement des candidats-travailleurs : quantité réalisée")
    claire = page.get_by_label("Évaluation des compétences de l'AEC — Claire Dion")
    samuel = page.get_by_label("Évaluation des compétences de l'AEC — Samuel Lavoie")
    hours.fill("31")
    claire.fill("0,5")
    page.get_by_role("button", name="Émettre la facture finale").click()
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("dépasse la quantité prévue à l'estimation (30, unité : heures)")
    expect(hours).to_have_attribute("aria-invalid", "true")
    expect(hours).to_have_value("31")
    expect(claire).to_have_value("0,5")
    assert_accessible_basics(page)
    page.screenshot(path=artefacts / "costs-incurred-refused.png", full_page=True)

    hours.fill("6")
    samuel.fill("0,25")
    page.get_by_role("button", name="Émettre la facture finale").click()
    expect(page.get_by_role("status")).to_contain_text("la facture finale est émise")
    final = page.get_by_role("region", name="Facture finale")
    expect(final).to_contain_text("1 486,37 $")  # 1 410,00 $ + TPS 25,50 $ + TVQ 50,87 $
    expect(page.get_by_role("button", name="Émettre la facture finale")).to_have_count(0)
    assert_accessible_basics(page)
    page.screenshot(path=artefacts / "costs-incurred-invoiced.png", full_page=True)

    final.get_by_role("link", name=re.compile(r"^CMV-")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Facture CMV-")
    expect(page.locator("main")).to_contain_text("Facture finale du plan annulé")
    expect(page.locator("main")).to_contain_text("coûts engagés avant l'annulation")

    # The invoice list, sorted on the server, and its exports of the list as sorted.
    page.goto("/facturation")
    page.get_by_label("Trier par").select_option("numero")
    page.get_by_role("button", name="Filtrer").click()
    expect(page).to_have_url(re.compile(r"/facturation\?.*tri=numero"))
    csv_link = page.get_by_role("link", name="CSV", exact=True)
    expect(csv_link).to_have_attribute(
        "href", re.compile(r"^/facturation/factures\.csv\?.*tri=numero")
    )
    numbers = page.locator("table").first.locator("tbody th[scope=row]").all_inner_texts()
    assert numbers == sorted(numbers) and len(numbers) >= 2
    with page.expect_download() as download:
        csv_link.click()
    exported = download.value.path().read_bytes()
    assert (
        exported.startswith("\ufeff".encode())
        and "factures.csv" == download.value.suggested_filename
    )
    lines = exported.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("Numéro;Organisation;Plan;Émise le")
    assert [line.split(";")[0] for line in lines[1:]] == numbers
    with page.expect_download() as workbook:
        page.get_by_role("link", name="Excel (XLSX)").click()
    assert workbook.value.suggested_filename == "factures.xlsx"


def test_an_invoicing_run_and_a_bank_import_show_their_progress_then_their_result(
    platform, page: Page, artefacts
):
    """« Facturer les versements échus » and the bank import run in the background: the
    person lands on the task's page, which shows the progress, then the result by itself."""
    token = platform.token(COORDINATOR)
    actor = actor_of(platform, token)
    admin = platform.token("admin@mes.demo.quebec")
    organisations = platform.api("GET", "/api/organisations", admin).json()["organisations"]
    ids = {o["code"]: o["id"] for o in organisations}
    plan_id, reference = 6002, "PMO-CMV-2026-6002"
    facts = {
        "plan_id": plan_id,
        "version": 1,
        "reference": reference,
        "institution_id": ids["CMV"],
        "employer_id": ids["BSM"],
        "candidate_count": 2,
        "accepted_version": None,
    }
    with ClusterRpcProxy({"AMQP_URI": platform.amqp_uri}, timeout=60) as cluster:
        cluster.billing.save_estimate(actor=actor, plan=facts, estimate=estimate_spec())
        cluster.billing.freeze_estimate(actor=actor, plan_id=plan_id, version=1)
    platform.publish_event(
        ev.PlanAccepted(
            plan_id=plan_id,
            version=1,
            reference=reference,
            accepted_at=clock.now() - timedelta(days=3),
            accepted_by="Éric Poulin",
            institution_id=ids["CMV"],
            employer_id=ids["BSM"],
        )
    )
    log_in(page, COORDINATOR)

    def due_listed() -> bool:
        page.goto("/facturation")
        return page.get_by_role("button", name="Facturer les versements échus").count() == 1

    wait_until(due_listed, message="plan.accepted not consumed (no installment due)")
    # The test holds billing's invoice counters (LOCK TABLE … EXCLUSIVE: plain reads go on),
    # so the worker, which numbers the invoices, stays « en cours » until it has been seen.
    engine = platform.engine("billing")
    try:
        with engine.connect() as held:
            held.execute(text("LOCK TABLE invoice_counters IN EXCLUSIVE MODE"))
            page.get_by_role("button", name="Facturer les versements échus").click()
            page.wait_for_url(re.compile(r"/facturation/travaux/\d+$"))
            progress = page.locator("#avancement[role=status]")
            expect(progress).to_contain_text("Facturation des versements échus en cours")
            assert_accessible_basics(page)
            page.screenshot(path=artefacts / "billing-run-progress.png", full_page=True)
            held.rollback()
    finally:
        engine.dispose()
    main = page.locator("main")
    expect(main).to_contain_text("Facturation terminée : 1 facture émise.", timeout=60_000)
    expect(page.locator("#avancement")).to_have_count(0)  # no reload by hand: the page came
    number = re.search(r"CMV-\d{4}-\d+", main.inner_text()).group(0)
    page.screenshot(path=artefacts / "billing-run-done.png", full_page=True)

    page.goto("/facturation/paiements/import")
    page.get_by_label(re.compile("Fichier CSV du relevé")).set_input_files(
        files=[
            {
                "name": "releve-cmv.csv",
                "mimeType": "text/csv",
                "buffer": (
                    "date;montant;facture;reference;mode\n"
                    f"{clock.today().isoformat()};100,00;{number};VIR-6002;virement\n"
                ).encode(),
            }
        ]
    )
    page.get_by_role("button", name="Importer").click()
    page.wait_for_url(re.compile(r"/facturation/travaux/\d+$"))
    expect(main).to_contain_text("Importation terminée : 1 paiement enregistré.", timeout=60_000)
    expect(page.get_by_role("table", name=re.compile("Résultat de l'importation"))).to_contain_text(
        number
    )
    assert_accessible_basics(page)
    page.screenshot(path=artefacts / "billing-import-done.png", full_page=True)
    page.get_by_role("link", name="Facturations et importations récentes").click()
    history = page.get_by_role("table", name=re.compile("traitements? récents?"))
    expect(history).to_contain_text("Importation d'un relevé bancaire (releve-cmv.csv)")
    expect(history).to_contain_text("Facturation des versements échus")
