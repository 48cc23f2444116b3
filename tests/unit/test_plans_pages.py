"""Every page of the plans area, through the real app, from the real plans service: its RPC
methods run in this process on SQLite, and billing's too (the estimate saved, its snapshot
kept by plans, issued from it), the directory stood in. Each page renders from the
contract's replies, asks the plans service once, names its form fields by contract path; a
refused form shows what was typed (escaped) with its error; the annex template takes a logo
upload and removes it."""

from __future__ import annotations

import base64
import html
import io
import re
import struct
import zlib
from datetime import date

import pytest
from nameko.testing.services import worker_factory
from werkzeug.test import Client

from gateway import auth
from gateway.models import Base as GatewayBase
from gateway.models import Organisation
from gateway.web.app import TEMPLATES
from gateway.web.framework import GatewayApp
from rac_shared.actor import Actor
from rac_shared.clock import clock
from rac_shared.db import SessionFactory
from rac_shared.formatting import money
from rac_shared.settings import get_settings
from rac_shared.templating import make_environment
from services.billing.models import Base as BillingBase
from services.billing.service import BillingService
from services.billing.testing import seed_rates
from services.plans.models import Base
from services.plans.service import PlansService
from tests.support.typography import ordinary_spaces

LEVIS, CISSS = 2, 5
ORGANISATIONS = {
    "CLV": {"id": LEVIS, "kind": "cegep", "name": "Cégep de Lévis", "code": "CLV",
            "address": "205, route Monseigneur-Bourget, Lévis (Québec)  G6V 6Z9"},
    "CCA": {"id": CISSS, "kind": "employer", "name": "CISSS de Chaudière-Appalaches",
            "code": "CCA", "address": "363, route Cameron, Sainte-Marie (Québec)  G6E 3E2"},
}  # fmt: skip
PEOPLE = {
    "rac": {"id": 6, "role": "rac_coordinator", "organisation_id": LEVIS,
            "full_name": "Sophie Bélanger", "title": "Coordonnatrice", "email": "rac@levis.qc"},
    "dg": {"id": 7, "role": "director_general", "organisation_id": LEVIS,
           "full_name": "Isabelle Bégin", "title": "Directrice générale", "email": "dg@levis.qc"},
    "rh": {"id": 13, "role": "employer_representative", "organisation_id": CISSS,
           "full_name": "Julie Morin", "title": "DRH", "email": "rh@cisss.qc"},
}  # fmt: skip
COORDINATOR = Actor(user_id=6, role="rac_coordinator", organisation_id=LEVIS,
                    organisation_kind="cegep", full_name="Sophie Bélanger")  # fmt: skip
EMPLOYER = Actor(user_id=13, role="employer_representative", organisation_id=CISSS,
                 organisation_kind="employer", full_name="Julie Morin")  # fmt: skip
ANALYST = Actor(user_id=2, role="ministry_analyst", organisation_id=1,
                organisation_kind="ministry", full_name="Marc Lavoie")  # fmt: skip
HOSTILE = "<script>alert('x')</script> {{ 7*7 }}"


class Directory:
    """The gateway's directory RPCs, answered from ``ORGANISATIONS`` and ``PEOPLE``."""

    def get_organisation(self, organisation_id: int) -> dict:
        from rac_shared.errors import not_found

        found = [o for o in ORGANISATIONS.values() if o["id"] == organisation_id]
        if not found:
            raise not_found("Organisation introuvable.")
        return found[0]

    def users_of_organisation(self, organisation_id: int, roles: list[str] | None = None):
        return [
            p
            for p in PEOPLE.values()
            if p["organisation_id"] == organisation_id and (not roles or p["role"] in roles)
        ]


class BillingEntrypoints:
    """The real billing service's entrypoints (nameko's ``worker_factory``) over a SQLite
    file with Québec's tax rates (the platform's engine: its savepoints are real), the
    directory as the stand-in above."""

    def __init__(self, tmp_path):
        sessions = SessionFactory(
            "billing", BillingBase.metadata, url=f"sqlite:///{tmp_path}/billing.db"
        )
        BillingBase.metadata.create_all(sessions.engine)
        self.session = sessions()
        seed_rates(self.session)
        self.session.commit()

    def __getattr__(self, method):
        def call(*args, **kwargs):
            worker = worker_factory(BillingService, db=self.session, gateway=Directory())
            self.session.commit()  # a worker's session starts with no transaction open
            try:
                result = getattr(worker, method)(*args, **kwargs)
                self.session.commit()
                return result
            except Exception:
                self.session.rollback()
                raise

        return call


class PlansEntrypoints:
    """The plans service's entrypoints run in this process (nameko's ``worker_factory``),
    each call with a fresh session, the directory and billing as the stand-ins above."""

    def __init__(self, sessions, billing):
        self.sessions, self.billing = sessions, billing

    def __getattr__(self, method):
        def call(*args, **kwargs):
            session = self.sessions()
            worker = worker_factory(
                PlansService, db=session, gateway=Directory(), billing=self.billing
            )
            try:
                return getattr(worker, method)(*args, **kwargs)
            finally:
                session.close()

        return call


class Services:
    """The gateway's RPC client, answered in this process; counts calls per service."""

    def __init__(self, plans, billing):
        self.plans, self.billing, self.calls = plans, billing, []

    def call(self, service, method, correlation_id=None, timeout=None, raw=False, **kwargs):
        self.calls.append((service, method))
        return getattr(self.plans if service == "plans" else self.billing, method)(**kwargs)


class Site:
    def __init__(self, tmp_path, monkeypatch):
        plans_db = SessionFactory("plans", Base.metadata, url=f"sqlite:///{tmp_path}/plans.db")
        Base.metadata.create_all(plans_db.engine)
        gateway_db = SessionFactory(
            "gateway", GatewayBase.metadata, url=f"sqlite:///{tmp_path}/gateway.db"
        )
        GatewayBase.metadata.create_all(gateway_db.engine)
        with gateway_db() as session, session.begin():
            fields = ("id", "kind", "name", "code", "address")
            session.add_all(
                Organisation(**{k: o[k] for k in fields}) for o in ORGANISATIONS.values()
            )
        self.billing = BillingEntrypoints(tmp_path)
        self.service = PlansEntrypoints(plans_db, self.billing)
        self.rpc = Services(self.service, self.billing)
        self.app = GatewayApp(get_settings(), gateway_db, self.rpc, make_environment(TEMPLATES))
        self.actor = COORDINATOR
        monkeypatch.setattr(self.app, "_authenticate", self._authenticate)
        monkeypatch.setattr(self.app, "_audit", lambda ctx, status: None)
        self.http = Client(self.app)
        self.csrf = auth.csrf_token_for(self.app.settings, "cle-de-session")

    def _authenticate(self, ctx, api):
        ctx.actor, ctx.session_key, ctx.unread_messages = self.actor, "cle-de-session", 0

    def as_(self, actor: Actor) -> Site:
        self.actor = actor
        return self

    def get(self, path: str, status: int = 200) -> str:
        self.rpc.calls.clear()
        response = self.http.get(path)
        assert response.status_code == status, response.get_data(as_text=True)[:3000]
        plans_calls = [c for c in self.rpc.calls if c[0] == "plans"]
        assert len(plans_calls) <= 1, plans_calls  # one RPC per service per page
        return ordinary_spaces(response.get_data(as_text=True))

    def post(self, path: str, data: dict, status: int = 303, **kwargs):
        response = self.http.post(path, data={"csrf_token": self.csrf, **data}, **kwargs)
        assert response.status_code == status, response.get_data(as_text=True)[:3000]
        return (
            response.headers.get("Location")
            if status == 303
            else ordinary_spaces(response.get_data(as_text=True))
        )

    def rpc_(self, method: str, **kwargs):
        return getattr(self.service, method)(actor=self.actor.model_dump(mode="json"), **kwargs)


@pytest.fixture
def site(tmp_path, monkeypatch):
    return Site(tmp_path, monkeypatch)


def names(html: str) -> set[str]:
    return set(re.findall(r'name="([^"]+)"', html))


def a_plan(site: Site, **content) -> int:
    created = site.rpc_("create_plan", data={
        "employer_id": CISSS, "program_kind": "AEC", "program_code": "JEE.0K",
        "program_title": "Techniques d'éducation à l'enfance", "target_jobs": "le personnel",
    })  # fmt: skip
    site.rpc_("update_draft", plan_id=created["id"], data={
        "competencies": [{"code": "0190", "statement": "Analyser la fonction de travail",
                          "group": "", "weeks_3h": 4, "weeks_6h": 2}],
        "candidates": [{"full_name": "Marie Gagnon", "job_title": "Éducatrice",
                        "email": "marie@exemple.quebec", "rhythm": 3,
                        "start_date": "2027-01-11", "modality": "in_person"}],
        **content,
    })  # fmt: skip
    return created["id"]


def issued(site: Site) -> int:
    plan_id = a_plan(site)
    site.rpc_("save_estimate", plan_id=plan_id, estimate={"lines": [
        {"category": "evaluation", "description": "Frais d'évaluation", "quantity": "1",
         "unit_price": "1450.00"}]})  # fmt: skip
    site.rpc_("issue", plan_id=plan_id)
    return plan_id


def png() -> bytes:
    """A real 1 × 1 PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def test_the_plans_list_pages_by_cursor_and_exports_every_row(site):
    first, second, third = (a_plan(site) for _ in range(3))
    page = site.get("/plans?tri=reference&curseur=")
    assert "3 plans" in page and "Page suivante" not in page
    assert "3 plans" in site.get("/plans?statut=&tri=")  # the form's « every status »
    assert 'href="/plans/liste.csv?tri=reference&amp;curseur="' not in page  # no cursor kept
    assert 'href="/plans/liste.csv?tri=reference"' in page
    one = site.rpc_("list_plans", query={"limit": 1, "sort": "reference"})
    assert one["count"] == 3 and [p["id"] for p in one["items"]] == [first]
    shown = site.get(f"/plans?tri=reference&curseur={one['next_cursor']}")
    assert "Première page" in shown and 'href="/plans?tri=reference"' in shown
    refused = site.get("/plans?curseur=abc.def", status=400)
    assert "Le curseur de pagination est invalide" in refused
    exported = site.http.get("/plans/liste.csv?tri=reference").get_data(as_text=True)
    header, *rows = exported.lstrip("\ufeff").splitlines()
    assert header == "Plan;Programme;Organisation;Statut;Échéance d'acceptation;Jours restants"
    assert len(rows) == 3 and all(";Brouillon;" in r for r in rows)
    assert {second, third} < {p["id"] for p in site.rpc_("list_plans", query={})["items"]}


def test_the_lists_the_new_plan_form_and_a_refused_creation(site):
    plan_id = a_plan(site)
    listed = site.get("/plans?statut=draft")
    assert f'href="/plans/{plan_id}"' in listed and "(brouillon)" in listed
    assert site.get("/plans?statut=inconnu", status=422)
    assert "Plans préparés" in site.as_(ANALYST).get("/plans")
    form = site.as_(COORDINATOR).get("/plans/nouveau")
    assert {"employer_id", "program_kind", "program_code", "program_title"} <= names(form)
    assert "CISSS de Chaudière-Appalaches</option>" in form
    refused = site.post("/plans/nouveau", {"employer_id": str(CISSS), "program_kind": "AEC",
                        "program_code": "JEE0K", "program_title": HOSTILE}, status=422)  # fmt: skip
    assert "XXX.XX" in refused
    assert "Titre du programme : Le texte ne peut contenir" in html.unescape(refused)
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in refused  # shown back, escaped
    assert "<script>alert" not in refused
    location = site.post("/plans/nouveau", {"employer_id": str(CISSS), "program_kind": "DEC",
                         "program_code": "jee.0k", "program_title": "Éducation"})  # fmt: skip
    assert re.fullmatch(r"/plans/\d+/modifier\?fait=plan-cree", location)


def test_the_editor_names_every_field_by_its_contract_path_and_shows_refusals(site):
    plan_id = a_plan(site)
    editor = site.get(f"/plans/{plan_id}/modifier")
    assert {
        "institution.signatory_name", "employer.name", "program.code", "program.field_of_study",
        "sections.context", "sections.specialists.0.name", "sections.domains", "steps.0.kind",
        "steps.5.period", "closure_dates", "aide_memoire.modalities",
        "annexes.annex_b_entries.3.what", "annexes.annex_c_start_date", "code", "weeks_3h",
        "full_name", "rhythm", "start_date", "modality",
    } <= names(editor)  # fmt: skip
    # The editor's steps: listed at the top, each repeated above its section.
    assert "Étape 1 de 7</span> Parties et sections" in editor
    assert '<p class="step-of">Étape 4 de 7</p>\n<h2 id="etapes">' in editor
    refused = site.post(f"/plans/{plan_id}/etapes", {
        "steps.0.kind": "information_meeting", "steps.0.start": "2027-02-01",
        "steps.0.end": "2027-01-04", "closure_dates": "2027-01-29\n29 janvier",
    }, status=422)  # fmt: skip
    assert "La fin d'une étape ne peut précéder son début." in html.unescape(refused)
    assert 'href="#champ-closure-dates"' in refused  # the line's error, on its text area
    assert "29 janvier</textarea>" in refused
    location = site.post(f"/plans/{plan_id}/sections", {
        "institution.address": "205, route Monseigneur-Bourget",
        "employer.name": "CISSS de Chaudière-Appalaches", "program.kind": "AEC",
        "program.code": "JEE.0K", "program.title": "Techniques d'éducation à l'enfance",
        "sections.context": "Un contexte.", "sections.objectives": "Un\nDeux",
    })  # fmt: skip
    assert location == f"/plans/{plan_id}/modifier?fait=plan-enregistre#sections"
    view = site.rpc_("get_plan", plan_id=plan_id)
    assert view["content"]["sections"]["objectives"] == ["Un", "Deux"]
    assert view["content"]["institution"]["name"] == "Cégep de Lévis"  # the directory's, kept
    assert f'<a class="button danger" href="/plans/{plan_id}/competences/0190/retirer">' in (
        site.get(f"/plans/{plan_id}/modifier")
    )  # a link to the separate confirmation step, not a button that acts at once
    confirm = ordinary_spaces(html.unescape(site.get(f"/plans/{plan_id}/competences/0190/retirer")))
    assert "<h1>Retirer cette compétence du plan ?</h1>" in confirm
    assert "ne compteront plus dans la durée du plan" in confirm
    assert '<button type="submit" class="danger">Retirer la compétence</button>' in confirm
    assert site.rpc_("get_plan", plan_id=plan_id)["content"]["competencies"]  # still there
    removed = site.post(f"/plans/{plan_id}/competences/0190/retirer", {})
    assert removed.endswith("#competences")
    assert site.rpc_("get_plan", plan_id=plan_id)["content"]["competencies"] == []


def test_page_actions_send_the_form_as_the_rpc_s_model_argument_with_its_file(site):
    """``Post`` rows: the new competency goes as ``add_competency``'s ``competency``; the
    recorded acceptance's scan (``upload``) joins the form's fields, and without a file
    nothing is recorded."""
    draft = a_plan(site)
    site.post(f"/plans/{draft}/competences", {"code": "0191", "statement": "Observer",
              "weeks_3h": "4", "weeks_6h": "2"})  # fmt: skip
    codes = [c["code"] for c in site.rpc_("get_plan", plan_id=draft)["content"]["competencies"]]
    assert codes == ["0190", "0191"]
    location = site.post(f"/plans/{draft}/estimation", {  # the RPC's argument is ``estimate``
        "lines.0.category": "evaluation", "lines.0.description": "Évaluation des acquis",
        "lines.0.quantity": "2", "lines.0.unit_price": "725.00", "payment_term_days": "45",
        "installments.0.label": "Versement unique", "installments.0.percent": "100",
        "installments.0.due.kind": "milestone", "installments.0.due.milestone": "acceptance",
    })  # fmt: skip
    assert location == f"/plans/{draft}/estimation?fait=plan-estimation"
    editor = site.get(f"/plans/{draft}/estimation")  # the saved estimate, as the form's fields
    for name, value in (
        ("lines.0.description", "Évaluation des acquis"),
        ("payment_term_days", "45"),
        ("installments.0.label", "Versement unique"),
    ):
        assert re.search(rf'name="{re.escape(name)}"[^>]*value="{value}"', editor), name
    plan_id = issued(site)
    received = {"version": "1", "received_on": clock.today().isoformat(),
                "signed_by_name": "Julie Morin", "signed_by_title": "DRH"}  # fmt: skip
    refused = site.post(f"/plans/{plan_id}/acceptation-recue", received, status=422)
    assert "Choisissez un fichier à joindre." in html.unescape(refused)
    assert site.rpc_("get_plan", plan_id=plan_id)["plan"]["status"] == "issued"
    location = site.post(
        f"/plans/{plan_id}/acceptation-recue", {**received, "fichier": (png_file(), "scan.png")}
    )
    assert location == f"/plans/{plan_id}?fait=plan-acceptation"
    assert site.http.get(f"/plans/{plan_id}/acceptation-recue/1").get_data() == png()


def test_the_plan_page_the_answers_of_the_employer_and_the_follow_up(site):
    plan_id = issued(site)
    page = site.get(f"/plans/{plan_id}")
    assert {"received_on", "signed_by_name", "fichier", "summary"} <= names(page)
    contents = page[page.index('<nav class="toc"') : page.index("</nav>", page.index("toc"))]
    assert '<a href="#estimation">Estimation des coûts</a>' in contents  # the page's own h2
    # Cancelling: a link to its own step, which says what will happen and asks the reason.
    assert f'<a class="button danger" href="/plans/{plan_id}/annuler">' in page
    cancel = site.get(f"/plans/{plan_id}/annuler")
    assert "reason" in names(cancel) and "L'annulation est définitive" in html.unescape(cancel)
    assert '<button type="submit" class="danger">Annuler le plan</button>' in cancel
    refused = site.post(f"/plans/{plan_id}/annuler", {"reason": ""}, 422)
    assert "<h1>Annuler le plan" in refused and 'aria-invalid="true"' in refused
    assert "Émise, en attente d'acceptation" in html.unescape(page)
    assert ordinary_spaces(money("1450.00")) in page  # the estimate frozen at issue
    accept = site.as_(EMPLOYER).get(f"/plans/{plan_id}/accepter")
    assert {"version", "content_hash", "full_name", "title", "lu", "statement"} <= names(accept)
    assert 'value="Julie Morin"' in accept
    decline = site.get(f"/plans/{plan_id}/refuser")
    assert {"version", "reason", "confirme"} <= names(decline)
    refused = site.post(f"/plans/{plan_id}/refuser", {"version": "1", "reason": "Non"}, 422)
    assert "Motif du refus : Au moins 5 caractères." in refused
    view = site.rpc_("get_plan", plan_id=plan_id)
    site.post(f"/plans/{plan_id}/accepter", {
        "version": "1", "content_hash": view["version"]["content_hash"], "full_name": "Julie Morin",
        "title": "DRH", "statement": "J'accepte", "lu": "on"})  # fmt: skip
    follow = site.as_(COORDINATOR).get(f"/plans/{plan_id}/suivi")
    candidate = site.rpc_("get_progress", plan_id=plan_id)["candidates"][0]["id"]
    assert f'name="_form" value="etape-{candidate}"' in follow
    # Recording an abandonment is a separate step that says what it entails.
    assert f'href="/plans/{plan_id}/suivi/{candidate}/abandon"' in follow
    step = html.unescape(site.get(f"/plans/{plan_id}/suivi/{candidate}/abandon"))
    assert "Enregistrer l'abandon de Marie Gagnon?" in ordinary_spaces(step).replace(" ?", "?")
    assert "ne pourra plus être modifié" in step and "frais d'abandon" in step
    assert '<button type="submit" class="danger">Enregistrer l\'abandon</button>' in step
    assert "Revenir sans rien changer" in step and "abandoned_on" in names(step)
    refused = site.post(
        f"/plans/{plan_id}/suivi/{candidate}/abandon",
        {"abandoned_on": date(2099, 1, 1).isoformat()},
        status=422,
    )
    assert "La date d'abandon ne peut être dans le futur." in html.unescape(refused)
    assert 'value="2099-01-01"' in refused and "Revenir sans rien changer" in refused
    assert "Marie Gagnon" not in site.as_(EMPLOYER).get(f"/plans/{plan_id}/suivi")
    site.as_(COORDINATOR).post(f"/plans/{plan_id}/modification", {"summary": "Non"}, 422)
    site.post(f"/plans/{plan_id}/modification", {"summary": "Ajout d'une fermeture."})
    page = site.get(f"/plans/{plan_id}/comparaison?de=1&a=2")
    assert "Version 2 comparée à la version 1" in page and "Aucune section modifiée." in page


def test_the_annex_template_takes_a_logo_and_removes_it(site):
    page = site.get("/plans/modele-annexes")
    assert {"annex_a", "annex_b", "annex_c", "logo"} <= names(page)
    texts = {name: "Un texte assez long pour être une annexe." for name in ("annex_a",
             "annex_b", "annex_c")}  # fmt: skip
    site.post("/plans/modele-annexes", {**texts, "logo": (png_file(), "logo.png")})
    template = site.rpc_("get_annex_template")
    assert template["logo"] == f"data:image/png;base64,{base64.b64encode(png()).decode()}"
    assert 'alt="Logo actuel de l\'établissement"' in site.get("/plans/modele-annexes")
    lying = site.post(
        "/plans/modele-annexes",
        {**texts, "logo": (io_of(b"\x89PNG pas une image"), "x.png")},
        status=422,
    )
    assert "Le contenu du logo n'est pas une image PNG ou JPEG." in html.unescape(lying)
    site.post("/plans/modele-annexes", {**texts, "remove_logo": "on"})
    assert site.rpc_("get_annex_template")["logo"] == ""


def png_file():
    return io_of(png())


def io_of(content: bytes):
    return io.BytesIO(content)


def test_issuing_from_the_page_shows_its_progress_a_failure_in_french_then_the_plan(
    site, monkeypatch
):
    """« Émettre le plan » asks for the work and returns at once; the page's status region
    (and its JSON) follows the worker's task: pending, failed with what to do, then issued."""
    import json

    from rac_shared import tasks as shared_tasks
    from rac_shared.pdf import PdfRenderingError
    from services.plans import document, lifecycle

    plan_id = a_plan(site)
    site.rpc_("save_estimate", plan_id=plan_id, estimate={"lines": [
        {"category": "evaluation", "description": "Frais d'évaluation", "quantity": "1",
         "unit_price": "1450.00"}]})  # fmt: skip
    state_url = f"/plans/{plan_id}/emission/etat"
    assert json.loads(site.get(state_url))["status"] is None  # nothing asked yet
    location = site.post(f"/plans/{plan_id}/emettre", {})
    assert location == f"/plans/{plan_id}?fait=plan-emission"
    page = html.unescape(site.get(location))
    assert f'data-poll="{state_url}" data-go' in page and "Actualiser</a>" in page
    refresh = f'<meta http-equiv="refresh" content="5; url=/plans/{plan_id}">'
    assert f"<noscript>{refresh}</noscript>" in page  # without JavaScript
    assert "Émission de la version 1 demandée" in page and "Émettre le plan</button>" not in page
    pending = json.loads(site.get(state_url))
    assert pending["pending"] and not pending["ready"] and pending["status"] == "queued"

    working, renders = document.plan_html, []

    def broken(*args, **kwargs):  # the document cannot be written (a crash)
        renders.append(1)
        raise PdfRenderingError("moteur de gabarits indisponible")

    monkeypatch.setattr(document, "plan_html", broken)
    monkeypatch.setattr(shared_tasks, "RETRY_SECONDS", 0)  # the shared mechanism's back-off
    assert site.service.run_tasks() == 3 and len(renders) == 3  # retried, then given up
    failed = json.loads(site.get(state_url))
    assert failed["failed"] and failed["url"] == f"/plans/{plan_id}"  # the page says why
    page = html.unescape(site.get(f"/plans/{plan_id}"))
    assert (
        "L'émission de la version 1 n'a pas abouti. Une erreur technique a empêché "
        "l'émission après 3 essais" in page
    )
    assert "Réessayer l'émission</button>" in page and "http-equiv" not in page
    assert site.rpc_("get_plan", plan_id=plan_id)["plan"]["status"] == "draft"

    monkeypatch.setattr(document, "plan_html", working)
    site.post(f"/plans/{plan_id}/emettre", {})
    # Issued; its PDF, a task of its own, fails too (the renderer down): retried, then shown
    # as failed on the plan page, in French.
    pdf_renders, working_pdf = [], lifecycle.render_pdf

    def no_pdf(html_text):
        pdf_renders.append(1)
        raise PdfRenderingError("moteur PDF indisponible")

    monkeypatch.setattr(lifecycle, "render_pdf", no_pdf)
    assert site.service.run_tasks() == 4 and len(pdf_renders) == 3  # the issue, 3 PDF tries
    done = json.loads(site.get(state_url))
    assert done["ready"] and done["url"] == f"/plans/{plan_id}?fait=plan-emis"
    page = html.unescape(site.get(done["url"]))
    assert "Le plan est émis" in page and "Émise, en attente d'acceptation" in page
    assert 'role="alert" id="pdf-emis"' in page
    assert "Le PDF de la version émise n'a pas pu être produit après 3 essais" in page
    monkeypatch.setattr(lifecycle, "render_pdf", working_pdf)  # back: its reader renders it
    pdf = site.http.get(f"/plans/{plan_id}/pdf")
    assert pdf.status_code == 200 and pdf.get_data().startswith(b"%PDF-")
    assert "data-poll" not in page
