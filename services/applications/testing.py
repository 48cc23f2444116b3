"""Helpers for tests of the applications service: sample files of every accepted type
(and disguised ones), actors, and an in-memory database session."""

from __future__ import annotations

import io
import zipfile
from datetime import date

from sqlalchemy import create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from rac_shared.actor import Actor, OrganisationKind, Role
from services.applications.models import Base

# One blank page, with its cross-reference table: a PDF that parses (uploads are parsed).
MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\n"
    b"xref\n0 4\n0000000000 65535 f \n0000000009 00000 n \n0000000052 00000 n \n"
    b"0000000101 00000 n \ntrailer<</Size 4/Root 1 0 R>>\nstartxref\n164\n%%EOF\n"
)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 32
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 32
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + b"\x00" * 64


def docx_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


def odt_bytes(mimetype: str = "application/vnd.oasis.opendocument.text") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("mimetype", mimetype)
        package.writestr("content.xml", "<office:document-content/>")
    return buffer.getvalue()


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        package.writestr("readme.txt", "bonjour")
    return buffer.getvalue()


def actor(
    role: Role,
    organisation_id: int,
    kind: OrganisationKind,
    user_id: int,
    full_name: str = "",
) -> Actor:
    return Actor(
        user_id=user_id,
        role=role,
        organisation_id=organisation_id,
        organisation_kind=kind,
        full_name=full_name or f"Personne {user_id}",
    )


# Organisations and people of the tests (ids mirror nothing in particular).
MINISTRY_ID, LEVIS_ID, CMV_ID, CSN_ID, EMPLOYER_ID = 1, 2, 3, 4, 5
ADMIN = actor(Role.MINISTRY_ADMIN, MINISTRY_ID, OrganisationKind.MINISTRY, 1, "Hélène Tremblay")
ANALYST = actor(Role.MINISTRY_ANALYST, MINISTRY_ID, OrganisationKind.MINISTRY, 2, "François Côté")
EVALUATOR = actor(
    Role.MINISTRY_EVALUATOR, MINISTRY_ID, OrganisationKind.MINISTRY, 3, "Geneviève Lévesque"
)
LEVIS_DG = actor(Role.DIRECTOR_GENERAL, LEVIS_ID, OrganisationKind.CEGEP, 4, "Isabelle Bégin")
LEVIS_STUDIES = actor(
    Role.DIRECTOR_OF_STUDIES, LEVIS_ID, OrganisationKind.CEGEP, 5, "Marc-André Gagnon"
)
LEVIS_RAC = actor(Role.RAC_COORDINATOR, LEVIS_ID, OrganisationKind.CEGEP, 6, "Sophie Bélanger")
CMV_DG = actor(Role.DIRECTOR_GENERAL, CMV_ID, OrganisationKind.CEGEP, 7, "Nathalie Ouellet")
CMV_FC = actor(
    Role.DIRECTOR_CONTINUING_EDUCATION, CMV_ID, OrganisationKind.CEGEP, 8, "Jean-François Roy"
)
CSN_DG = actor(
    Role.DIRECTOR_GENERAL, CSN_ID, OrganisationKind.SCHOOL_SERVICE_CENTRE, 10, "Pierre Lachance"
)
CSN_FP = actor(
    Role.DIRECTOR_VOCATIONAL_TRAINING,
    CSN_ID,
    OrganisationKind.SCHOOL_SERVICE_CENTRE,
    11,
    "Chantal Fortin",
)
CSN_RAC = actor(
    Role.RAC_COORDINATOR, CSN_ID, OrganisationKind.SCHOOL_SERVICE_CENTRE, 12, "Louis Bouchard"
)
EMPLOYER = actor(
    Role.EMPLOYER_REPRESENTATIVE, EMPLOYER_ID, OrganisationKind.EMPLOYER, 13, "Julie Morin"
)

ORGANISATIONS = {
    LEVIS_ID: {
        "id": LEVIS_ID,
        "kind": "cegep",
        "name": "Cégep de Lévis",
        "code": "CLV",
        "education_order": "collégial",
        "region": "Chaudière-Appalaches",
        "address": "",
    },
    CMV_ID: {
        "id": CMV_ID,
        "kind": "cegep",
        "name": "Cégep Marie-Victorin",
        "code": "CMV",
        "education_order": "collégial",
        "region": "Montréal",
        "address": "",
    },
    CSN_ID: {
        "id": CSN_ID,
        "kind": "school_service_centre",
        "name": "Centre de services scolaire des Navigateurs",
        "code": "CSN",
        "education_order": "secondaire",
        "region": "Chaudière-Appalaches",
        "address": "",
    },
}


def call_data(**overrides) -> dict:
    data = {
        "title": "Appel d'intérêt 2012-2013 — CERAC",
        "education_orders": ["secondaire", "collégial"],
        "launch_date": date(2012, 9, 4),
        "deadline_date": date(2012, 12, 21),
        "analysis_date": date(2013, 5, 1),
        "designation_date": date(2013, 5, 31),
        "experimentation_years": ["2013-2014", "2014-2015"],
    }
    data.update(overrides)
    return data


def memory_session() -> Session:
    """A session on a fresh in-memory SQLite database with the service's tables."""
    engine = create_engine("sqlite://")

    @event.listens_for(engine, "connect")
    def _fk(dbapi_connection, _record):
        dbapi_connection.execute("PRAGMA foreign_keys=ON")

    Base.metadata.create_all(engine)
    session = sessionmaker(bind=engine, expire_on_commit=False)()
    session.info["metadata"] = Base.metadata
    session.info["service"] = "applications"
    return session
