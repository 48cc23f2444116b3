"""The ``/facturation`` pages and ``/api/billing`` handlers over the real billing service (its
entrypoints, through the contract, in a worker over an in-memory database): filters as query
models, each form refused with French messages and what was typed, the notices after a POST,
the downloads, one call to billing per page."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from openpyxl import load_workbook

import gateway.web.billing  # noqa: F401  (registers the routes)
from gateway.clients import target_of
from gateway.web.responses import XLSX_MIME
from rac_shared.clock import clock
from rac_shared.contracts.billing import EstimateSpec, InvoiceQuery, InvoiceSort, PlanRef
from services.billing import estimates as E
from services.billing import invoicing, reports, schedule
from services.billing.models import Invoice
from services.billing.service import BillingService
from services.billing.testing import (
    CISSS,
    CISSS_HR,
    CMV_RAC,
    LEVIS,
    LEVIS_RAC,
    ORGANISATIONS,
    accepted,
    estimate_spec,
    listed_credit_note,
    listed_invoice,
    memory_session,
    plan_ref,
)
from tests.support.pages import Browser, ServiceRpc

TODAY = date(2026, 9, 20)


@pytest.fixture
def session():
    """One accepted plan of the Cégep de Lévis with the CISSS, its first installment
    (2 611,47 $) invoiced on 1 September 2026."""
    session = memory_session()
    with clock.frozen_at(date(2026, 8, 20)):
        estimate = E.save_estimate(
            session,
            LEVIS_RAC,
            PlanRef(**plan_ref()),
            EstimateSpec(**estimate_spec()),
            {"institution": ORGANISATIONS[LEVIS], "employer": ORGANISATIONS[CISSS]},
        )
        E.freeze(estimate)
        session.commit()
    with clock.frozen_at(date(2026, 9, 1)):
        schedule.accept_plan(session, accepted())
        invoicing.issue_due_batch(session, date(2026, 9, 1))
        session.commit()
    yield session
    session.close()


def browser(session, who, rpc=None) -> Browser:
    return Browser(rpc or ServiceRpc(BillingService, session, today=TODAY), who)


def invoice_id(session) -> int:
    return session.query(Invoice.id).scalar()


def test_the_invoices_list_is_filtered_by_its_query_model(session):
    levis = browser(session, LEVIS_RAC)
    overdue = levis.get("/facturation?statut=overdue")
    assert overdue.status_code == 200 and "0 facture — en retard" in overdue.html
    listing = levis.get(f"/facturation?statut=open&employeur={CISSS}")
    assert "CLV-2026-0001" in listing.html and "1 facture — à payer (solde dû)" in listing.html
    assert '<option value="open" selected>' in listing.html
    for query in ("statut=' OR 1=1 --", "employeur=cinq"):
        refused = levis.get(f"/facturation?{query}")
        assert refused.status_code == 422 and "Les critères de la recherche sont invalides" in (
            refused.html
        )
    blank = levis.get("/facturation/notes-de-credit?motif=&employeur=&tri=")  # a form's blanks
    assert blank.status_code == 200 and levis.get("/facturation?statut=&tri=").status_code == 200
    mine = browser(session, CISSS_HR).get(f"/facturation?employeur={LEVIS}")  # an employer's own
    assert "CLV-2026-0001" in mine.html and "1 facture" in mine.html
    api = levis.get(f"/api/billing/invoices?status=open&employer_id={CISSS}").response
    assert api.status_code == 200 and api.json["count"] == 1
    assert api.json["items"][0]["balance"] == "2611.47"  # a decimal string, never a float


def test_a_payment_refused_keeps_what_was_typed_and_one_recorded_says_so(session):
    levis = browser(session, LEVIS_RAC)
    path = f"/facturation/factures/{invoice_id(session)}"
    with clock.frozen_at(TODAY):
        page = levis.get(path)
    assert 'value="2026-09-20"' in page.html  # today, by default
    assert '<option value="transfer" selected>' in page.html
    refused = levis.post(
        f"{path}/paiements",
        {"paid_on": "2026-09-20", "amount": "9 999,00", "method": "cheque", "reference": "CHQ-7"},
    )
    assert refused.status_code == 422 and "trop-payés" in refused.html
    assert 'value="9 999,00"' in refused.html and 'value="CHQ-7"' in refused.html
    assert '<option value="cheque" selected>' in refused.html
    invalid = levis.post(f"{path}/paiements", {"paid_on": "hier", "amount": "0", "method": "or"})
    assert invalid.status_code == 422
    summary = invalid.html.split('class="error-summary"')[1].split("</div>")[0]
    assert "Date du paiement : Une date AAAA-MM-JJ est attendue." in summary
    assert "Montant reçu : Le montant d'un paiement doit être supérieur à zéro." in summary
    assert "Mode de paiement : Cette valeur n'est pas permise." in summary
    done = levis.post(
        f"{path}/paiements", {"paid_on": "2026-09-20", "amount": "611,47", "method": "cheque"}
    )
    assert done.status_code == 303 and done.headers["Location"] == f"{path}?fait=paiement-recu"
    shown = levis.get(f"{path}?fait=paiement-recu").html
    assert "Le paiement est enregistré." in shown and "2 000,00 $" in shown
    employer = browser(session, CISSS_HR).get(path)
    assert employer.status_code == 200 and "Enregistrer un paiement" not in employer.html
    assert browser(session, CMV_RAC).get(path).status_code == 404  # another institution


def test_the_bank_file_is_an_upload_read_within_its_limit(session):
    levis = browser(session, LEVIS_RAC)
    missing = levis.post("/facturation/paiements/import")
    assert missing.status_code == 422 and "Aucun fichier choisi." in missing.html
    # The file is imported in the background: the person lands on the import's own page.
    wrong = levis.post(
        "/facturation/paiements/import",
        {"fichier": (_file("jour;somme\n2026-09-20;10\n"), "mauvais.csv")},
    )
    assert wrong.status_code == 303
    page = wrong.headers["Location"]
    assert re.fullmatch(r"/facturation/travaux/\d+", page)
    pending = levis.get(page).html
    assert "Importation du relevé demandée" in pending and f'data-poll="{page}/etat"' in pending
    assert f'<meta http-equiv="refresh" content="3; url={page}">' in pending  # no JavaScript
    state = levis.get(f"{page}/etat").response.get_json()
    assert state["pending"] and not state["ready"] and state["url"] == page
    assert run_tasks(session) == 1
    failed = levis.get(page).html  # refused: shown as failed, in French, nothing recorded
    assert 'role="alert"' in failed and "colonnes manquantes" in failed and "mauvais.csv" in failed
    assert "Importer un fichier corrigé" in failed
    state = levis.get(f"{page}/etat").response.get_json()
    assert state == {**state, "pending": False, "failed": True, "status": "failed"}
    text = "date;montant;facture;reference;mode\n2026-09-19;11,47;CLV-2026-0001;DEP-1;dépôt\n"
    imported = levis.post(
        "/facturation/paiements/import",
        {"fichier": (_file(text.encode("cp1252")), "releve.csv")},  # saved by an old spreadsheet
    )
    assert run_tasks(session) == 1
    done = levis.get(imported.headers["Location"]).html
    assert "Importation terminée : 1 paiement enregistré." in done and "DEP-1" not in done
    assert "Résultat de l'importation, ligne par ligne" in done and "11,47" in done
    history = levis.get("/facturation/travaux").html
    assert "2 traitements récents" in history and history.count("Importation d'un relevé") == 2
    assert browser(session, CMV_RAC).get(page).status_code == 404  # another institution's


def _file(content):
    import io

    return io.BytesIO(content.encode("utf-8") if isinstance(content, str) else content)


def test_the_settings_form_is_the_contract_s(session):
    levis = browser(session, LEVIS_RAC)
    too_long = levis.post("/facturation/parametres", {"gst_number": "1" * 41})
    assert too_long.status_code == 422
    assert "Numéro d'inscription à la TPS : Ce texte est trop long." in too_long.html
    assert f'value="{"1" * 41}"' in too_long.html  # not cut
    saved = levis.post("/facturation/parametres", {"gst_number": "123456789 RT0001"})
    assert saved.headers["Location"] == "/facturation/parametres?fait=parametres-facturation"
    page = levis.get("/facturation/parametres?fait=parametres-facturation").html
    assert "Les paramètres de facturation sont enregistrés." in page
    assert 'value="123456789 RT0001"' in page


def run_tasks(session) -> int:
    """What the service's worker (its timer) does: the background work asked for."""
    return ServiceRpc(BillingService, session, today=TODAY).call("billing", "run_tasks")


def test_the_due_installments_button_says_what_it_did(session):
    levis = browser(session, LEVIS_RAC)
    asked = levis.post("/facturation/emettre")
    page = asked.headers["Location"]
    assert re.fullmatch(r"/facturation/travaux/\d+", page)
    again = levis.post("/facturation/emettre")  # a second click: the same run
    assert again.headers["Location"] == page
    assert "Facturation des versements échus en cours" not in levis.get(page).html
    assert run_tasks(session) == 1 and run_tasks(session) == 0
    done = levis.get(page).html
    assert "Aucun versement n'était à facturer." in done and "data-poll" not in done
    assert levis.get(f"{page}/etat").response.get_json()["ready"] is True


def test_exports_are_utf8_csv_with_a_byte_order_mark(session):
    levis = browser(session, LEVIS_RAC)
    for path, name in (
        ("/facturation/anciennete.csv?date=2026-11-15", "anciennete-des-comptes-2026-11-15.csv"),
        (f"/facturation/releve.csv?employeur={CISSS}", f"releve-{CISSS}.csv"),
        ("/api/billing/aging?as_of=2026-11-15&format=csv", None),
        (f"/api/billing/statement?employer_id={CISSS}&format=csv", f"releve-{CISSS}.csv"),
    ):
        response = levis.get(path).response
        assert response.status_code == 200 and response.mimetype == "text/csv", path
        assert response.get_data().startswith("\ufeff".encode()), path
        assert ";" in response.get_data(as_text=True).splitlines()[0], path
        if name:
            assert name in response.headers["Content-Disposition"]
    aging = levis.get("/api/billing/aging?as_of=2026-11-15").response.json
    assert aging["as_of"] == "2026-11-15" and aging["totals"]["d31_60"] == "2611.47"
    # ``format`` names only the files the reading declares (``Api(formats=…)``).
    refused = levis.get("/api/billing/aging?format=pdf").response
    assert refused.status_code == 422 and "format" in refused.json["error"]["details"]
    statement = levis.get(f"/api/billing/statement?employer_id={CISSS}").response
    assert statement.mimetype == "application/json" and statement.json["employer_id"] == CISSS


def test_each_billing_page_asks_the_billing_service_once(session):
    rpc = ServiceRpc(BillingService, session, today=TODAY)
    number = invoice_id(session)
    for who, path in (
        (LEVIS_RAC, "/facturation"),
        (LEVIS_RAC, f"/facturation/factures/{number}"),
        (LEVIS_RAC, "/facturation/releve"),
        (LEVIS_RAC, "/facturation/anciennete"),
        (LEVIS_RAC, "/facturation/parametres"),
        (LEVIS_RAC, "/facturation/notes-de-credit"),
        (CISSS_HR, "/facturation/notes-de-credit"),
        (CISSS_HR, "/facturation"),
        (CISSS_HR, "/facturation/releve"),
    ):
        rpc.calls.clear()
        page = browser(session, who, rpc).get(path)
        assert page.status_code == 200, (path, page.html[:300])
        assert page.headers["X-RAC-RPC"] == "billing=1" and len(rpc.calls) == 1, path


def test_funding_is_a_client_name_for_the_billing_service():
    assert target_of("funding") == ("billing", "rac_shared.contracts.funding:FundingRpc")
    assert target_of("billing") == ("billing", "rac_shared.contracts.billing:BillingRpc")


def test_the_invoice_list_exports_the_columns_it_shows_as_csv_and_xlsx(session):
    levis = browser(session, LEVIS_RAC)
    page = levis.get("/facturation?statut=open&tri=solde").html
    assert '<option value="solde" selected>' in page
    assert 'href="/facturation/factures.xlsx?statut=open&amp;tri=solde"' in page
    csv_export = levis.get("/facturation/factures.csv?statut=open").response
    assert csv_export.get_data().startswith("\ufeff".encode())
    header, row = csv_export.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert header == "Numéro;Organisation;Plan;Émise le;Échéance;Total;Solde;Statut"
    assert row.startswith("CLV-2026-0001;CISSS") and ";2611,47;" in row  # decimal comma
    xlsx = levis.get("/facturation/factures.xlsx?statut=open").response
    assert xlsx.mimetype == XLSX_MIME and "factures.xlsx" in xlsx.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(xlsx.get_data())).active
    rows = list(sheet.values)
    assert rows[0][:3] == ("Numéro", "Organisation", "Plan") and len(rows) == 2
    assert rows[1][0] == "CLV-2026-0001" and rows[1][6] == 2611.47  # a number, not text
    assert sheet.cell(row=2, column=4).is_date  # « Émise le » as a date


def test_the_invoices_to_pay_come_first_by_due_date_unless_another_order_is_asked():
    session = memory_session()
    listed_invoice(session, "A-1", "100.00", date(2026, 1, 1), date(2025, 12, 1), paid="100.00")
    listed_invoice(session, "A-2", "10.00", date(2026, 3, 1), date(2026, 2, 1))
    listed_invoice(session, "A-3", "500.00", date(2026, 2, 1), date(2026, 1, 2))
    session.commit()

    def order(sort: InvoiceSort) -> list[str]:
        page = reports.list_invoices(session, LEVIS_RAC, InvoiceQuery(sort=sort))
        return [i["number"] for i in page["items"]]

    with clock.frozen_at(TODAY):
        assert order(InvoiceSort.TO_PAY) == ["A-3", "A-2", "A-1"]
        assert order(InvoiceSort.NUMBER) == ["A-1", "A-2", "A-3"]
        assert order(InvoiceSort.ISSUED) == ["A-2", "A-3", "A-1"]
        assert order(InvoiceSort.BALANCE) == ["A-3", "A-2", "A-1"]
        # Page after page (two rows, then one), the same order, no row twice.
        first = reports.list_invoices(session, LEVIS_RAC, InvoiceQuery(limit=2))
        second = reports.list_invoices(
            session, LEVIS_RAC, InvoiceQuery(limit=2, cursor=first["next_cursor"])
        )
        assert [i["number"] for i in first["items"] + second["items"]] == ["A-3", "A-2", "A-1"]
        assert first["count"] == second["count"] == 3 and second["next_cursor"] is None
    session.close()


def test_the_credit_notes_list_puts_credit_to_apply_first_and_exports_every_page(session):
    listed_credit_note(session, "NC-CLV-2026-0001", "100.00", date(2026, 9, 2), applied="100.00")
    listed_credit_note(session, "NC-CLV-2026-0002", "40.00", date(2026, 9, 1))
    listed_credit_note(session, "NC-CLV-2026-0003", "250.00", date(2026, 9, 3), applied="250.00")
    session.commit()
    levis = browser(session, LEVIS_RAC)
    page = levis.get("/facturation/notes-de-credit").html
    assert "3 notes de crédit" in page
    numbers = re.findall(r"NC-CLV-2026-000\d", page)
    assert numbers == ["NC-CLV-2026-0002", "NC-CLV-2026-0003", "NC-CLV-2026-0001"]
    api = levis.get("/api/billing/credit-notes?limit=2&sort=montant").response.json
    assert [c["number"] for c in api["items"]] == ["NC-CLV-2026-0003", "NC-CLV-2026-0001"]
    following = levis.get(
        f"/api/billing/credit-notes?limit=2&sort=montant&cursor={api['next_cursor']}"
    )
    assert [c["number"] for c in following.response.json["items"]] == ["NC-CLV-2026-0002"]
    assert following.response.json["next_cursor"] is None
    # The cursor is the Cégep de Lévis's: the employer's list refuses it (400, in French).
    refused = (
        browser(session, CISSS_HR)
        .get(f"/api/billing/credit-notes?limit=2&sort=montant&cursor={api['next_cursor']}")
        .response
    )
    assert (
        refused.status_code == 400
        and "revenez à la première page" in refused.json["error"]["message"]
    )
    export = levis.get("/facturation/notes-de-credit/liste.csv?tri=montant").response
    header, *rows = export.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert header == "Numéro;Organisation;Plan;Émise le;Motif;Montant;Non appliqué"
    assert [r.split(";")[0] for r in rows] == [
        "NC-CLV-2026-0003",
        "NC-CLV-2026-0001",
        "NC-CLV-2026-0002",
    ]
    paged = levis.get("/facturation/notes-de-credit?tri=montant").html
    assert 'href="/facturation/notes-de-credit/liste.xlsx?tri=montant"' in paged
