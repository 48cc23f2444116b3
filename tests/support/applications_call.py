"""A complete call and a filled application made through the applications service's domain
functions, for unit tests that work on a session (the demo makes the same through the
service's RPC methods, ``services/applications/demo.py``)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from rac_shared.actor import Actor
from rac_shared.contracts.applications import CallIn, CriterionIn, GridIn, QuestionIn, SectionIn
from services.applications import calls, dossiers
from services.applications.demo import CALL_2012, CRITERIA_2012, EXTRA_SECTIONS, GUIDE_HTML
from services.applications.models import Application, Call
from services.applications.testing import MINIMAL_PDF


def build_call(
    session: Session,
    admin: Actor,
    data: dict | None = None,
    guide_pdf: bytes | None = None,
    criteria: list | None = None,
) -> Call:
    """Create a complete call (form, grid, guide) ready to publish, through the domain."""
    call = calls.create_call(session, admin, CallIn.model_validate(data or CALL_2012))
    added = []
    for title, description, questions in EXTRA_SECTIONS:
        section = calls.add_section(
            session, admin, call.id, SectionIn(title=title, description=description)
        )
        for question in questions:
            calls.add_question(session, admin, call.id, section.id, QuestionIn(**question))
        added.append(section)
    # The presentation and the two groups of criteria come before the mandate's parts.
    mandate = [s for s in call.sections if s.mandate_part]
    for position, section in enumerate(added + mandate, start=1):
        section.position = position
    calls.set_criteria(
        session,
        admin,
        call.id,
        GridIn(
            criteria=[
                CriterionIn(group=g, label=label, weight=w, threshold=t)
                for g, label, w, t in (criteria or CRITERIA_2012)
            ]
        ),
    )
    if guide_pdf is None:
        from rac_shared.pdf import render_pdf

        guide_pdf = render_pdf(GUIDE_HTML)
    calls.upload_guide(
        session, admin, call.id, "guide-presentation-demande-cerac-2012.pdf", guide_pdf
    )
    session.flush()
    session.expire(call, ["sections"])
    return call


def fill_application(session: Session, member: Actor, application: Application) -> None:
    """Answer every question of the form and attach the usual documents."""
    for section in sorted(application.call.sections, key=lambda s: s.position):
        answers = {}
        for question in section.questions:
            if question.kind == "text":
                answers[question.id] = (
                    f"{application.organisation_name} : réponse détaillée à la question « "
                    f"{question.label[:60]} »."
                )[: question.max_length]
            elif question.kind == "yes_no":
                answers[question.id] = "oui"
            elif question.kind == "choice":
                answers[question.id] = question.options[-1]
        dossiers.save_answers(session, member, application.id, section.id, answers)
    dossiers.add_attachment(
        session, member, application.id, "support_letter", "lettre-appui-cisss.pdf", MINIMAL_PDF
    )
    dossiers.add_attachment(
        session,
        member,
        application.id,
        "official_document",
        "resolution-conseil-administration.pdf",
        MINIMAL_PDF,
    )
