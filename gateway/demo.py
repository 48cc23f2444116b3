"""Demo organisations and accounts (idempotent): what ``rac demo`` and ``make run`` seed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gateway import calendar_feeds
from gateway.auth import calendar_feed_url, hash_password
from gateway.models import AuditEntry, CalendarFeed, Organisation, User
from rac_shared.actor import OrganisationKind as K
from rac_shared.actor import Role as R
from rac_shared.clock import clock
from rac_shared.french import plural
from rac_shared.settings import Settings

DEMO_PASSWORD = "rac-demo-2026"

# The ministry's accounts sign in with a second factor (mandatory for their roles). The
# demo enrols them with these published secrets, so that a person trying the demo can add
# them to an authenticator app (or run ``rac demo-code EMAIL``), and the tests compute the
# codes with pyotp. Demo accounts are never seeded in production.
DEMO_TOTP_SECRETS = {
    "admin@mes.demo.quebec": "DGLUN55IDMYSMRDMOYSSZQHNK7WX6OOL",
    "analyste@mes.demo.quebec": "NVG3DQ4EY4PYZLB424SNCPHPNBTJMPGW",
    "evaluatrice@mes.demo.quebec": "LRATZDOODGPB7BLWFKPY52WZJJBHDCGS",
    # Evaluators of the network's institutions sit on the committees with the same role.
    "evaluateur@cegeplevis.demo.quebec": "33FEOVDX7V2G7WOBDVIJTYV6KQJOAGVW",
    "evaluatrice@csnavigateurs.demo.quebec": "MYEZSVBKELMB677TOSLIKZYV7ZNB6XUP",
}

ORGANISATIONS = [
    dict(
        key="ministere",
        kind=K.MINISTRY,
        name="Ministère de l'Enseignement supérieur",
        code="MES",
        address="1035, rue De La Chevrotière, Québec (Québec)  G1R 5A5",
    ),
    dict(
        key="levis",
        kind=K.CEGEP,
        name="Cégep de Lévis",
        code="CLV",
        education_order="collégial",
        region="Chaudière-Appalaches",
        address="205, route Monseigneur-Bourget, Lévis (Québec)  G6V 6Z9",
    ),
    dict(
        key="marie-victorin",
        kind=K.CEGEP,
        name="Cégep Marie-Victorin",
        code="CMV",
        education_order="collégial",
        region="Montréal",
        address="7000, rue Marie-Victorin, Montréal (Québec)  H1G 2J6",
    ),
    dict(
        key="navigateurs",
        kind=K.SCHOOL_SERVICE_CENTRE,
        name="Centre de services scolaire des Navigateurs",
        code="CSN",
        education_order="secondaire",
        region="Chaudière-Appalaches",
        address="1860, 1re Rue, Lévis (Québec)  G6W 5M6",
    ),
    dict(
        key="cisss",
        kind=K.EMPLOYER,
        name="CISSS de Chaudière-Appalaches",
        code="CCA",
        region="Chaudière-Appalaches",
        address="363, route Cameron, Sainte-Marie (Québec)  G6E 3E2",
    ),
    dict(
        key="boulangerie",
        kind=K.EMPLOYER,
        name="Boulangerie Saint-Méthode inc.",
        code="BSM",
        region="Chaudière-Appalaches",
        address="14, rue Principale, Saint-Bernard (Québec)  G0S 2G0",
    ),
]

FIRST_NAMES_OF_WOMEN = {
    "Hélène", "Geneviève", "Isabelle", "Sophie", "Nathalie", "Amélie", "Chantal", "Julie",
    "Mélanie",
}  # fmt: skip
USERS = [
    (
        "ministere",
        R.MINISTRY_ADMIN,
        "admin@mes.demo.quebec",
        "Hélène Tremblay",
        "Directrice de la reconnaissance des acquis",
    ),
    ("ministere", R.MINISTRY_ANALYST, "analyste@mes.demo.quebec", "François Côté", "Analyste"),
    (
        "ministere",
        R.MINISTRY_EVALUATOR,
        "evaluatrice@mes.demo.quebec",
        "Geneviève Lévesque",
        "Évaluatrice",
    ),
    (
        "levis",
        R.DIRECTOR_GENERAL,
        "dg@cegeplevis.demo.quebec",
        "Isabelle Bégin",
        "Directrice générale",
    ),
    (
        "levis",
        R.DIRECTOR_OF_STUDIES,
        "etudes@cegeplevis.demo.quebec",
        "Marc-André Gagnon",
        "Directeur des études",
    ),
    (
        "levis",
        R.RAC_COORDINATOR,
        "rac@cegeplevis.demo.quebec",
        "Sophie Bélanger",
        "Coordonnatrice de la RAC",
    ),
    (
        "levis",
        R.MINISTRY_EVALUATOR,
        "evaluateur@cegeplevis.demo.quebec",
        "Martin Gravel",
        "Conseiller pédagogique, évaluateur du réseau",
    ),
    (
        "marie-victorin",
        R.DIRECTOR_GENERAL,
        "dg@cmv.demo.quebec",
        "Nathalie Ouellet",
        "Directrice générale",
    ),
    (
        "marie-victorin",
        R.DIRECTOR_CONTINUING_EDUCATION,
        "fc@cmv.demo.quebec",
        "Jean-François Roy",
        "Directeur de la formation continue",
    ),
    (
        "marie-victorin",
        R.RAC_COORDINATOR,
        "rac@cmv.demo.quebec",
        "Amélie Pelletier",
        "Conseillère en RAC",
    ),
    (
        "navigateurs",
        R.DIRECTOR_GENERAL,
        "dg@csnavigateurs.demo.quebec",
        "Pierre Lachance",
        "Directeur général",
    ),
    (
        "navigateurs",
        R.DIRECTOR_VOCATIONAL_TRAINING,
        "fp@csnavigateurs.demo.quebec",
        "Chantal Fortin",
        "Directrice du service de la formation professionnelle",
    ),
    (
        "navigateurs",
        R.RAC_COORDINATOR,
        "rac@csnavigateurs.demo.quebec",
        "Louis Bouchard",
        "Conseiller en RAC",
    ),
    (
        "navigateurs",
        R.MINISTRY_EVALUATOR,
        "evaluatrice@csnavigateurs.demo.quebec",
        "Mélanie Fournier",
        "Conseillère pédagogique, évaluatrice du réseau",
    ),
    (
        "cisss",
        R.EMPLOYER_REPRESENTATIVE,
        "rh@cisss.demo.quebec",
        "Julie Morin",
        "Directrice des ressources humaines",
    ),
    (
        "boulangerie",
        R.EMPLOYER_REPRESENTATIVE,
        "direction@boulangerie.demo.quebec",
        "Éric Poulin",
        "Président",
    ),
]

# How letters address the demo's people (role labels follow): everyone says which they prefer.
FORMS_OF_ADDRESS = {
    email: ("Madame" if full_name.split()[0] in FIRST_NAMES_OF_WOMEN else "Monsieur")
    for _, _, email, full_name, _ in USERS
}


def seed_accounts(session: Session) -> dict[str, int]:
    """Create the demo organisations and users if missing; returns organisation ids by key."""
    ids: dict[str, int] = {}
    for spec in ORGANISATIONS:
        values = {k: v for k, v in spec.items() if k != "key"}
        values["kind"] = values["kind"].value
        organisation = session.scalar(select(Organisation).where(Organisation.code == spec["code"]))
        if organisation is None:
            organisation = Organisation(**values)
            session.add(organisation)
            session.flush()
        ids[spec["key"]] = organisation.id
    password_hash = hash_password(DEMO_PASSWORD)
    for key, role, email, full_name, title in USERS:
        user = session.scalar(select(User).where(User.email == email))
        if user is not None and user.form_of_address is None:
            user.form_of_address = FORMS_OF_ADDRESS.get(email)
        if user is None:
            user = User(
                email=email,
                full_name=full_name,
                title=title,
                form_of_address=FORMS_OF_ADDRESS.get(email),
                role=role.value,
                organisation_id=ids[key],
                password_hash=password_hash,
                active=True,
                session_version=1,
                created_at=clock.now(),
            )
            session.add(user)
        if email in DEMO_TOTP_SECRETS and user.totp_secret is None:
            user.totp_secret = DEMO_TOTP_SECRETS[email]
            user.totp_enabled_at = clock.now()
    session.flush()
    return ids


# Users whose personal calendar feed the demo opens: the coordinator follows her plans'
# candidate-workers and deadlines, the employer's representative the offers and installments.
CALENDAR_FEED_USERS = ("rac@cegeplevis.demo.quebec", "rh@cisss.demo.quebec")


def seed_calendar_feeds(session: Session, settings: Settings) -> str:
    """Open the demo users' calendar feeds (once) and say where they are."""
    lines = ["Calendriers (abonnement iCalendar, /calendrier) :"]
    for email in CALENDAR_FEED_USERS:
        user = session.scalar(select(User).where(User.email == email))
        feed = session.get(CalendarFeed, user.id) or calendar_feeds.renew(session, user.id)
        if feed.active:
            address = calendar_feed_url(settings, user.id, feed.generation)
            lines.append(f"  {email:<38} {address}")
    return "\n".join(lines)


def logins_table() -> str:
    from rac_shared.actor import ROLE_LABELS

    names = {o["key"]: o["name"] for o in ORGANISATIONS}
    lines = [
        f"  {email:<38} {ROLE_LABELS[role]} — {names[key]}" for key, role, email, _, _ in USERS
    ]
    lines.append(f"  Mot de passe de tous les comptes : {DEMO_PASSWORD}")
    lines.append(
        "  Comptes du Ministère et évaluateurs du réseau : double authentification; clé à "
        "ajouter à une application "
        "d'authentification, ou code du moment avec « rac demo-code COURRIEL » :"
    )
    lines += [f"    {email:<36} {secret}" for email, secret in DEMO_TOTP_SECRETS.items()]
    return "\n".join(lines)


def current_code(email: str) -> str:
    """The code a demo account's authenticator would show now (platform clock)."""
    from gateway.two_factor import current_code as code_of

    if email not in DEMO_TOTP_SECRETS:
        raise KeyError(email)
    return code_of(DEMO_TOTP_SECRETS[email])


def directory_views(session: Session) -> tuple[dict, dict]:
    """Organisations by code and people by e-mail, as the directory's RPCs show them."""
    from gateway.directory import organisation_view, user_view

    organisations = {o.code: organisation_view(o) for o in session.scalars(select(Organisation))}
    people = {u.email: user_view(u) for u in session.scalars(select(User))}
    return organisations, people


def seed_directory(context) -> tuple[str, dict]:
    """``rac demo``'s first step: the accounts, then the directory every later step reads
    (forwarded as ``organisations`` by code and ``people`` by e-mail)."""
    from gateway.models import Base
    from rac_shared.db import SessionFactory
    from rac_shared.settings import get_settings

    with SessionFactory("gateway", Base.metadata).transaction() as session:
        seed_accounts(session)
        session.flush()
        organisations, people = directory_views(session)
        calendars = seed_calendar_feeds(session, get_settings())
    summary = "Comptes de démonstration :\n" + logins_table() + "\n" + calendars
    return summary, {"organisations": organisations, "people": people}


def seed_audit_trail(context) -> tuple[str, dict]:
    """The demo's history in the audit trail: the services' demo steps keep their events in
    their outboxes as the record of what happened (the applications' and scoring's marked
    published, so nobody is e-mailed) and forward them (``events``); each is handed, in the
    order they happened, to the gateway's own audit handlers (``context.client("gateway")
    .deliver``, as the bus would), which chain the facts the trail keeps once each, by event
    id: running the demo again adds nothing, nor does the relay when the services start."""
    envelopes = {}
    for step in ("network", "designations", "plans", "billing"):
        for body in context.forwarded[step].get("events", ()):
            envelopes[body["event_id"]] = body
    gateway = context.client("gateway")

    def chain_length() -> int:
        with gateway.sessions() as session:
            return session.scalar(select(func.count(AuditEntry.id)))

    before = chain_length()
    for body in sorted(envelopes.values(), key=lambda b: datetime.fromisoformat(b["occurred_at"])):
        gateway.deliver(body)
    added = chain_length() - before
    return (
        f"Journal d'audit : {plural(added, 'fait ajouté')} à la chaîne, des services "
        "(« rac audit verify »).",
        {},
    )
