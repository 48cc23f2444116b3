"""The French receipt (accusé de réception) of a deposited application, as a PDF."""

from __future__ import annotations

from pathlib import Path

from rac_shared.actor import KIND_LABELS, ROLE_LABELS, OrganisationKind, Role
from rac_shared.clock import aware
from rac_shared.contracts.applications import SignatureCapacity
from rac_shared.pdf import render_pdf
from rac_shared.templating import make_environment
from services.applications.dossiers import ATTACHMENT_KINDS
from services.applications.models import Application

templates = make_environment(Path(__file__).parent / "templates")

CAPACITY_LABELS = SignatureCapacity.labels()


def receipt_html(application: Application) -> str:
    return templates.get_template("receipt.html.j2").render(
        application=application,
        call=application.call,
        submitted_at=aware(application.submitted_at),
        kind_label=KIND_LABELS.get(
            OrganisationKind(application.organisation_kind), application.organisation_kind
        ),
        attachments=application.attachments,
        attachment_kinds=ATTACHMENT_KINDS,
        signatures=[
            {
                "full_name": s.full_name,
                "role": ROLE_LABELS.get(Role(s.role), s.role),
                "capacity": CAPACITY_LABELS.get(s.capacity, s.capacity),
                "signed_at": aware(s.signed_at),
            }
            for s in application.signatures
        ],
    )


def render_receipt(application: Application) -> bytes:
    return render_pdf(receipt_html(application))
