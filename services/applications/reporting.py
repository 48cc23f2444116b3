"""Reddition de comptes: a CERAC's yearly reports (one section per mandate part) and its
reports on special mandates (one section per deliverable).

Rules, in plain functions first (no database): the experimentation year's bounds, the
default due date, what is missing in a section, whether a submission is late, and which
reminder step a date has reached. Then the operations on the database, each checking who
may do it: the CERAC's own users write and submit; the ministry's analysts and admin read
every report and review the submitted version.

Choices:
- An experimentation year "2013-2014" runs from July 1, 2013 to June 30, 2014 (a school
  year, the rhythm of the education networks). Until the ministry sets a due date for a
  year, the yearly reports are due on September 30 after the year ends.
- Submitting after the due date is allowed and the report is marked late: the ministry
  needs the report whatever the date (it conditions funding), and refusing it would only
  hide the delay. Late versions are flagged on every page and in the dashboard figures.
- A report that was never submitted and whose due date has passed is "en retard".
- Each submission freezes a version (content as JSON, attachments by reference: an
  attachment that belongs to a submitted version can no longer be deleted). The analyst
  accepts or asks for changes, with comments per section, on the latest version only.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import and_, case, func, select
from sqlalchemy.orm import Session, aliased

from rac_shared.actor import Actor, Role
from rac_shared.clock import aware, clock, end_of_day, start_of_day
from rac_shared.contracts.network import (
    IndicatorSource,
    ReportKind,
    ReportQuery,
    ReportSort,
    ReportStatus,
)
from rac_shared.errors import conflict, forbidden, invalid, not_found
from rac_shared.events import (
    CeracReportAccepted,
    CeracReportChangesRequested,
    CeracReportSubmitted,
)
from rac_shared.listing import Key, paginate, reply
from rac_shared.outbox import record_event
from services.applications.ceracs import MANDATE_PART_LABELS
from services.applications.config import applications_settings
from services.applications.files import check_upload
from services.applications.models import (
    REPORT_ACCEPTED,
    REPORT_CHANGES_REQUESTED,
    REPORT_DRAFT,
    REPORT_MANDATE,
    REPORT_SUBMITTED,
    REPORT_YEARLY,
    Attachment,
    CeracRecord,
    CeracReport,
    ReportIndicator,
    ReportingDeadline,
    ReportSection,
    ReportVersion,
    SupportRequest,
)

STAFF_ROLES = frozenset({Role.MINISTRY_ADMIN, Role.MINISTRY_ANALYST})
EDITABLE = (REPORT_DRAFT, REPORT_CHANGES_REQUESTED)
STATUS_LABELS = ReportStatus.labels()
KIND_LABELS = ReportKind.labels()
YEAR = re.compile(r"^(\d{4})-(\d{4})$")
SUPPORT_RECEIVED, SUPPORT_ANSWERED = "support_received", "support_answered"
PREFILLED = {
    SUPPORT_RECEIVED: (IndicatorSource.SUPPORT_RECEIVED.label, "demandes"),
    SUPPORT_ANSWERED: (IndicatorSource.SUPPORT_ANSWERED.label, "demandes"),
}
MAX_REPORT_ATTACHMENTS = 30


# -- pure rules -----------------------------------------------------------------------------


def year_bounds(label: str) -> tuple[date, date]:
    """``"2013-2014"`` → (2013-07-01, 2014-06-30); invalid labels are refused."""
    match = YEAR.match(label or "")
    if not match or int(match.group(2)) != int(match.group(1)) + 1:
        raise invalid(
            f"Année d'expérimentation invalide : « {str(label)[:20]} » (format : 2013-2014).",
            {"experimentation_year": "Format attendu : 2013-2014."},
        )
    start = int(match.group(1))
    return date(start, 7, 1), date(start + 1, 6, 30)


def default_due_date(label: str) -> date:
    """September 30 after the experimentation year ends, until the ministry decides."""
    return date(year_bounds(label)[1].year, 9, 30)


def missing_in_section(section: dict, require_indicators: bool = True) -> list[str]:
    """What is missing in one section before the report can be submitted, in French.

    ``section``: ``objectives``, ``narrative``, ``indicators`` (``label``, ``unit``,
    ``target``, ``achieved``). A yearly report's mandate part needs at least one measurable
    indicator; a special mandate's deliverable may have none (its narrative says what was
    delivered), but any indicator given must be complete.
    """
    missing = []
    if not (section.get("objectives") or "").strip():
        missing.append("Les objectifs sont à rédiger.")
    indicators = section.get("indicators") or []
    if require_indicators and not indicators:
        missing.append("Au moins un indicateur mesurable est requis.")
    for number, indicator in enumerate(indicators, start=1):
        name = (indicator.get("label") or "").strip()
        where = f"Indicateur {number}" + (f" (« {name[:60]} »)" if name else "")
        if not name:
            missing.append(f"{where} : le libellé est manquant.")
        if not (indicator.get("unit") or "").strip():
            missing.append(f"{where} : l'unité de mesure est manquante.")
        if indicator.get("target") in (None, ""):
            missing.append(f"{where} : la valeur cible est manquante.")
        if indicator.get("achieved") in (None, ""):
            missing.append(f"{where} : la valeur atteinte est manquante.")
    if not (section.get("narrative") or "").strip():
        missing.append("Le bilan (narration des réalisations) est à rédiger.")
    return missing


def completeness(sections: list[dict], require_indicators: bool = True) -> dict[str, list[str]]:
    """Missing items per section key (empty lists when the section is complete)."""
    return {
        s["key"]: missing_in_section(s, require_indicators=require_indicators) for s in sections
    }


def missing_parts(mandate_parts: list[str], section_keys: list[str]) -> list[str]:
    """The CERAC's mandate parts that have no section in the report."""
    return [
        f"La section « {MANDATE_PART_LABELS.get(p, p)} » est absente du rapport."
        for p in mandate_parts
        if p not in section_keys
    ]


def is_late(due_date: date, submitted_at: datetime) -> bool:
    """Late when submitted after the end of the due date, in Montréal."""
    return submitted_at > end_of_day(due_date)


def days_late(due_date: date, as_of: date) -> int:
    return max((as_of - due_date).days, 0)


def reminder_step(due_date: date, as_of: date) -> str | None:
    """The reminder due on ``as_of`` for a report not yet submitted: ``late`` after the due
    date, ``j-7`` within the last seven days, ``j-30`` within the last thirty (the days of
    ``APPLICATIONS_REPORT_REMINDER_DAYS``), else None.
    Only the current step: a job that did not run for weeks does not send stale ones."""
    if as_of > due_date:
        return "late"
    for step, days in sorted(applications_settings().report_reminder_steps, key=lambda s: s[1]):
        if as_of >= due_date - timedelta(days=days):
            return step
    return None


# -- creation -------------------------------------------------------------------------------


def _due_for_year(session: Session, label: str) -> date:
    deadline = session.scalar(
        select(ReportingDeadline).where(ReportingDeadline.experimentation_year == label)
    )
    return deadline.due_date if deadline is not None else default_due_date(label)


def ensure_yearly_reports(session: Session, cerac: CeracRecord) -> list[CeracReport]:
    """One yearly report per experimentation year, with one section per mandate part."""
    existing = {
        r.period_key: r
        for r in session.scalars(select(CeracReport).where(CeracReport.cerac_id == cerac.id))
    }
    created = []
    now = clock.now()
    for label in cerac.experimentation_years or []:
        year_bounds(label)
        key = f"annee:{label}"
        if key in existing:
            continue
        report = CeracReport(
            cerac_id=cerac.id,
            kind=REPORT_YEARLY,
            period_key=key,
            period_label=label,
            experimentation_year=label,
            due_date=_due_for_year(session, label),
            status=REPORT_DRAFT,
            versions_count=0,
            created_at=now,
            updated_at=now,
        )
        for position, part in enumerate(cerac.mandate_parts or [], start=1):
            section = ReportSection(
                key=part,
                position=position,
                title=MANDATE_PART_LABELS.get(part, part),
                objectives="",
                narrative="",
            )
            if part == "offer":
                for index, (source, (label_fr, unit)) in enumerate(PREFILLED.items(), start=1):
                    section.indicators.append(
                        ReportIndicator(position=index, label=label_fr, unit=unit, source=source)
                    )
            report.sections.append(section)
        session.add(report)
        created.append(report)
    session.flush()
    for report in created:
        refresh_prefilled(session, report)
    return created


def create_mandate_report(session: Session, mandate) -> CeracReport:
    now = clock.now()
    report = CeracReport(
        cerac_id=mandate.cerac_id,
        kind=REPORT_MANDATE,
        period_key=f"mandat:{mandate.id}",
        period_label=mandate.object,
        special_mandate_id=mandate.id,
        due_date=mandate.due_date,
        status=REPORT_DRAFT,
        versions_count=0,
        created_at=now,
        updated_at=now,
    )
    for position, deliverable in enumerate(mandate.deliverables, start=1):
        report.sections.append(
            ReportSection(
                key=f"livrable-{position}",
                position=position,
                title=deliverable[:500],
                objectives="",
                narrative="",
            )
        )
    session.add(report)
    session.flush()
    return report


def support_counts(session: Session, cerac_id: int, label: str) -> dict[str, int]:
    """Support requests received and answered by a CERAC during an experimentation year."""
    first, last = year_bounds(label)
    start, end = start_of_day(first), end_of_day(last)
    received = session.scalar(
        select(func.count())
        .select_from(SupportRequest)
        .where(
            SupportRequest.cerac_id == cerac_id,
            SupportRequest.created_at >= start,
            SupportRequest.created_at <= end,
        )
    )
    answered = session.scalar(
        select(func.count())
        .select_from(SupportRequest)
        .where(
            SupportRequest.cerac_id == cerac_id,
            SupportRequest.answered_at.is_not(None),
            SupportRequest.answered_at >= start,
            SupportRequest.answered_at <= end,
        )
    )
    return {SUPPORT_RECEIVED: int(received or 0), SUPPORT_ANSWERED: int(answered or 0)}


def refresh_prefilled(session: Session, report: CeracReport) -> None:
    """Recount the support requests into the ``offer`` indicators while editable."""
    if report.kind != REPORT_YEARLY or report.status not in EDITABLE:
        return
    counts = support_counts(session, report.cerac_id, report.experimentation_year)
    for section in report.sections:
        for indicator in section.indicators:
            if indicator.source in counts:
                value = Decimal(counts[indicator.source])
                if indicator.achieved is None or Decimal(indicator.achieved) != value:
                    indicator.achieved = value


# -- access ---------------------------------------------------------------------------------


def ensure_reporting_area(actor: Actor) -> None:
    if actor.role in STAFF_ROLES or actor.is_institution:
        return
    raise forbidden(
        "La reddition de comptes des CERAC est réservée aux CERAC, aux analystes et à "
        "l'administration du Ministère."
    )


def ensure_staff(actor: Actor) -> None:
    if actor.role not in STAFF_ROLES:
        raise forbidden(
            "Cette opération est réservée aux analystes et à l'administration du Ministère."
        )


def visible_report(session: Session, actor: Actor, report_id: int) -> CeracReport:
    """The report if the actor may read it: the ministry's staff, or the CERAC's users.
    Anyone else gets "not found", as if the report did not exist."""
    ensure_reporting_area(actor)
    report = session.get(CeracReport, int(report_id))
    if report is None:
        raise not_found("Rapport introuvable.")
    if actor.role in STAFF_ROLES:
        return report
    if report.cerac.organisation_id is None or report.cerac.organisation_id != (
        actor.organisation_id
    ):
        raise not_found("Rapport introuvable.")
    return report


def editable_report(session: Session, actor: Actor, report_id: int) -> CeracReport:
    report = visible_report(session, actor, report_id)
    if not actor.is_institution:
        raise forbidden("Seul le CERAC rédige et dépose son rapport.")
    if report.status not in EDITABLE:
        raise conflict(
            "Ce rapport est déposé : il ne peut plus être modifié, sauf si le Ministère "
            "demande des modifications."
            if report.status == REPORT_SUBMITTED
            else "Ce rapport est accepté : il ne peut plus être modifié."
        )
    return report


# -- drafting -------------------------------------------------------------------------------


def save_draft(session: Session, actor: Actor, report_id: int, data) -> CeracReport:
    """Save objectives, indicators and narrative of the sections given (``ReportDraftIn``).
    Platform-filled indicators keep their achieved value; their target is the CERAC's."""
    report = editable_report(session, actor, report_id)
    sections = {s.key: s for s in report.sections}
    unknown = [k for k in data.sections if k not in sections]
    if unknown:
        raise invalid(
            "Section inconnue dans ce rapport.",
            {f"sections.{k}": "Section inconnue." for k in unknown[:10]},
        )
    for key, given in data.sections.items():
        section = sections[key]
        section.objectives = given.objectives
        section.narrative = given.narrative
        kept = {i.source: i for i in section.indicators if i.source}
        targets = {i.source: i.target for i in given.indicators if i.source in kept}
        for indicator in list(section.indicators):
            if not indicator.source:
                section.indicators.remove(indicator)
        for source, indicator in kept.items():
            if source in targets:
                indicator.target = targets[source]
        position = len(kept)
        for item in given.indicators:
            if item.source:
                continue
            if not (
                item.label or item.unit or item.target is not None or item.achieved is not None
            ):
                continue  # an empty row of the form
            position += 1
            section.indicators.append(
                ReportIndicator(
                    position=position,
                    label=item.label,
                    unit=item.unit,
                    target=item.target,
                    achieved=item.achieved,
                    source=None,
                )
            )
    report.updated_at = clock.now()
    report.updated_by_name = actor.full_name
    session.flush()
    refresh_prefilled(session, report)
    session.flush()
    return report


def _section_dicts(report: CeracReport) -> list[dict]:
    return [
        {
            "key": s.key,
            "title": s.title,
            "objectives": s.objectives,
            "narrative": s.narrative,
            "indicators": [
                {
                    "label": i.label,
                    "unit": i.unit,
                    "target": _dec(i.target),
                    "achieved": _dec(i.achieved),
                    "source": i.source,
                }
                for i in s.indicators
            ],
        }
        for s in report.sections
    ]


def report_completeness(report: CeracReport) -> dict[str, list[str]]:
    result = completeness(_section_dicts(report), require_indicators=report.kind == REPORT_YEARLY)
    if report.kind == REPORT_YEARLY:
        absent = missing_parts(report.cerac.mandate_parts or [], [s.key for s in report.sections])
        if absent:
            result["_rapport"] = absent
    return result


# -- attachments ----------------------------------------------------------------------------


def add_attachment(
    session: Session, actor: Actor, report_id: int, section_key: str, filename: str, content: bytes
) -> Attachment:
    """Same checks as the application's pieces (type read from the content, size, name)."""
    report = editable_report(session, actor, report_id)
    if section_key not in {s.key for s in report.sections}:
        raise invalid("Section inconnue dans ce rapport.", {"section": "Choisissez une section."})
    count = session.scalar(
        select(func.count()).select_from(Attachment).where(Attachment.report_id == report.id)
    )
    if count >= MAX_REPORT_ATTACHMENTS:
        raise invalid(f"Un rapport compte au plus {MAX_REPORT_ATTACHMENTS} pièces jointes.")
    checked = check_upload(filename, content)
    attachment = Attachment(
        report_id=report.id,
        report_section=section_key,
        kind="report",
        filename=checked.filename,
        mime=checked.mime,
        size=checked.size,
        sha256=checked.sha256,
        content=content,
        uploaded_by_user_id=actor.user_id,
        uploaded_by_name=actor.full_name,
        uploaded_at=clock.now(),
    )
    session.add(attachment)
    report.updated_at = clock.now()
    session.flush()
    return attachment


def attachments_of(session: Session, report_id: int) -> list[Attachment]:
    return list(
        session.scalars(
            select(Attachment).where(Attachment.report_id == report_id).order_by(Attachment.id)
        )
    )


def get_attachment(session: Session, actor: Actor, report_id: int, attachment_id: int):
    report = visible_report(session, actor, report_id)
    attachment = session.scalar(
        select(Attachment).where(
            Attachment.id == int(attachment_id), Attachment.report_id == report.id
        )
    )
    if attachment is None:
        raise not_found("Pièce jointe introuvable.")
    return attachment


def _frozen_attachment_ids(report: CeracReport) -> set[int]:
    ids = set()
    for version in report.versions:
        for section in version.content.get("sections", []):
            ids.update(a["id"] for a in section.get("attachments", []))
    return ids


def delete_attachment(session: Session, actor: Actor, report_id: int, attachment_id: int) -> None:
    report = editable_report(session, actor, report_id)
    attachment = get_attachment(session, actor, report.id, attachment_id)
    if attachment.id in _frozen_attachment_ids(report):
        raise conflict(
            "Cette pièce fait partie d'une version déposée du rapport : elle est conservée "
            "avec l'historique des versions."
        )
    session.delete(attachment)
    report.updated_at = clock.now()
    session.flush()


# -- submission and review ------------------------------------------------------------------


def _snapshot(session: Session, report: CeracReport) -> dict:
    attachments = attachments_of(session, report.id)
    sections = _section_dicts(report)
    for section in sections:
        section["attachments"] = [
            {"id": a.id, "filename": a.filename, "mime": a.mime, "size": a.size, "sha256": a.sha256}
            for a in attachments
            if a.report_section == section["key"]
        ]
    return {"sections": sections}


def submit(session: Session, actor: Actor, report_id: int) -> ReportVersion:
    report = editable_report(session, actor, report_id)
    refresh_prefilled(session, report)
    session.flush()
    missing = {k: v for k, v in report_completeness(report).items() if v}
    if missing:
        raise invalid(
            "Le rapport est incomplet : complétez chaque section avant de le déposer.",
            {key: " ".join(items) for key, items in missing.items()},
        )
    now = clock.now()
    version = ReportVersion(
        number=report.versions_count + 1,
        content=_snapshot(session, report),
        due_date=report.due_date,
        # A resubmission asked for by the ministry is not late in itself: the report
        # reached the ministry when its first version did.
        late=report.versions[0].late if report.versions else is_late(report.due_date, now),
        submitted_at=now,
        submitted_by_user_id=actor.user_id,
        submitted_by_name=actor.full_name,
        comments={},
        general_comment="",
    )
    report.versions.append(version)
    report.versions_count = version.number
    report.status = REPORT_SUBMITTED
    report.updated_at = now
    report.updated_by_name = actor.full_name
    session.flush()
    if report.cerac.organisation_id is not None:
        record_event(
            session,
            CeracReportSubmitted(
                report_id=report.id,
                cerac_id=report.cerac_id,
                organisation_id=report.cerac.organisation_id,
                organisation_name=report.cerac.organisation_name,
                period_label=report.period_label,
                special_mandate_id=report.special_mandate_id,
                version_number=version.number,
                due_date=report.due_date,
                submitted_by_user_id=actor.user_id,
            ),
        )
    return version


def review(session: Session, actor: Actor, report_id: int, data) -> ReportVersion:
    """Accept the latest version, or send it back with comments per section."""
    ensure_staff(actor)
    report = visible_report(session, actor, report_id)
    if report.status != REPORT_SUBMITTED or not report.versions:
        raise conflict("Seul un rapport déposé, en attente d'analyse, peut être révisé.")
    version = report.versions[-1]
    keys = {s.key for s in report.sections}
    unknown = [k for k in data.comments if k not in keys]
    if unknown:
        raise invalid(
            "Commentaire sur une section inconnue.",
            {f"comments.{k}": "Section inconnue." for k in unknown[:10]},
        )
    comments = {k: v for k, v in data.comments.items() if v}
    if data.decision == REPORT_CHANGES_REQUESTED and not (comments or data.general_comment):
        raise invalid(
            "Indiquez, section par section, les modifications demandées.",
            {"comments": "Au moins un commentaire est requis pour demander des modifications."},
        )
    now = clock.now()
    version.decision = data.decision
    version.comments = comments
    version.general_comment = data.general_comment
    version.reviewed_at = now
    version.reviewed_by_user_id = actor.user_id
    version.reviewed_by_name = actor.full_name
    report.status = data.decision
    report.updated_at = now
    if data.decision == REPORT_ACCEPTED:
        report.accepted_on = clock.today()
    session.flush()
    if report.cerac.organisation_id is None:
        return version
    common = {
        "report_id": report.id,
        "cerac_id": report.cerac_id,
        "organisation_id": report.cerac.organisation_id,
        "organisation_name": report.cerac.organisation_name,
        "period_label": report.period_label,
        "special_mandate_id": report.special_mandate_id,
        "version_number": version.number,
        "reviewed_by_user_id": actor.user_id,
    }
    if data.decision == REPORT_ACCEPTED:
        record_event(session, CeracReportAccepted(**common, accepted_on=report.accepted_on))
    else:
        general = {"_general": data.general_comment} if data.general_comment else {}
        record_event(session, CeracReportChangesRequested(**common, comments=comments | general))
    return version


def get_version(session: Session, actor: Actor, report_id: int, number: int) -> ReportVersion:
    report = visible_report(session, actor, report_id)
    version = next((v for v in report.versions if v.number == int(number)), None)
    if version is None:
        raise not_found("Version introuvable.")
    return version


# -- deadlines ------------------------------------------------------------------------------


def set_deadline(session: Session, actor: Actor, label: str, due_date: date) -> ReportingDeadline:
    """The ministry sets (or moves) the due date of one experimentation year's reports."""
    ensure_staff(actor)
    first, _ = year_bounds(label)
    if due_date < first:
        raise invalid(
            "L'échéance ne peut pas précéder le début de l'année d'expérimentation.",
            {"due_date": f"Choisissez une date après le {first.isoformat()}."},
        )
    deadline = session.scalar(
        select(ReportingDeadline).where(ReportingDeadline.experimentation_year == label)
    )
    if deadline is None:
        deadline = ReportingDeadline(experimentation_year=label)
        session.add(deadline)
    deadline.due_date = due_date
    deadline.set_by_user_id = actor.user_id
    deadline.set_by_name = actor.full_name
    deadline.set_at = clock.now()
    for report in session.scalars(
        select(CeracReport).where(
            CeracReport.kind == REPORT_YEARLY, CeracReport.experimentation_year == label
        )
    ):
        report.due_date = due_date
    session.flush()
    return deadline


def deadlines(session: Session) -> list[ReportingDeadline]:
    return list(
        session.scalars(select(ReportingDeadline).order_by(ReportingDeadline.experimentation_year))
    )


def known_years(session: Session) -> list[str]:
    years = set()
    for (value,) in session.execute(select(CeracRecord.experimentation_years)):
        years.update(value or [])
    years.update(d.experimentation_year for d in deadlines(session))
    return sorted(years)


# -- lists and figures ----------------------------------------------------------------------


def is_overdue(report: CeracReport, as_of: date) -> bool:
    return report.status == REPORT_DRAFT and as_of > report.due_date


def list_reports(
    session: Session, actor: Actor, status: str = "", late: bool = False
) -> list[CeracReport]:
    """The ministry's staff: every report; a CERAC's users: their CERAC's reports."""
    ensure_reporting_area(actor)
    query = select(CeracReport).join(CeracRecord, CeracRecord.id == CeracReport.cerac_id)
    if actor.role not in STAFF_ROLES:
        query = query.where(CeracRecord.organisation_id == actor.organisation_id)
    if status:
        if status not in STATUS_LABELS:
            raise invalid("Statut inconnu.", {"statut": "Choisissez un statut."})
        query = query.where(CeracReport.status == status)
    today = clock.today()
    if late:
        query = query.where(CeracReport.status == REPORT_DRAFT, CeracReport.due_date < today)
    query = query.order_by(CeracReport.due_date, CeracRecord.organisation_name, CeracReport.id)
    return list(session.scalars(query))


FAR = date(9999, 12, 31)


def _report_keys(sort: str, actor: Actor) -> list[Key]:
    newest = Key(CeracReport.id, descending=True)
    if sort == ReportSort.DUE:
        return [Key(CeracReport.due_date), Key(CeracRecord.organisation_name), Key(CeracReport.id)]
    if sort == ReportSort.CERAC:
        return [Key(CeracRecord.organisation_name), Key(CeracReport.due_date), Key(CeracReport.id)]
    if sort == ReportSort.UPDATED:
        return [Key(CeracReport.updated_at, descending=True), newest]
    # The reader's work first: the ministry analyses deposited reports; a CERAC answers the
    # changes requested, then writes its drafts. The oldest due date first.
    if actor.role in STAFF_ROLES:
        rank = case((CeracReport.status == REPORT_SUBMITTED, 0), else_=1)
    else:
        rank = case(
            (CeracReport.status == REPORT_CHANGES_REQUESTED, 0),
            (CeracReport.status == REPORT_DRAFT, 1),
            else_=2,
        )
    return [Key(rank), Key(CeracReport.due_date), Key(CeracReport.id)]


def reports_page(session: Session, actor: Actor, query: ReportQuery) -> dict:
    """A page of the reports the actor sees, each with its CERAC and its last version's
    deposit (one subquery): two statements whatever the page's size."""
    ensure_reporting_area(actor)
    last = (
        select(ReportVersion.report_id, func.max(ReportVersion.number).label("number"))
        .group_by(ReportVersion.report_id)
        .subquery()
    )
    version = aliased(ReportVersion)
    statement = (
        select(CeracReport, CeracRecord, version.submitted_at, version.late)
        .join(CeracRecord, CeracRecord.id == CeracReport.cerac_id)
        .outerjoin(last, last.c.report_id == CeracReport.id)
        .outerjoin(
            version, and_(version.report_id == CeracReport.id, version.number == last.c.number)
        )
    )
    if actor.role not in STAFF_ROLES:
        statement = statement.where(CeracRecord.organisation_id == actor.organisation_id)
    if query.status:
        statement = statement.where(CeracReport.status == query.status)
    today = clock.today()
    if query.late:
        statement = statement.where(
            CeracReport.status == REPORT_DRAFT, CeracReport.due_date < today
        )
    if query.year:
        statement = statement.where(CeracReport.experimentation_year == query.year)
    if query.cerac_id is not None:
        statement = statement.where(CeracReport.cerac_id == query.cerac_id)
    page = paginate(
        session,
        statement,
        query,
        name="reports",
        scope=actor.organisation_id,
        keys=_report_keys(query.sort, actor),
    )
    return reply(page, [summary_of(*row, today) for row in page["rows"]])


def figures(session: Session, actor: Actor, as_of: date | None = None) -> dict:
    """For the ministry's dashboard: reports by status, late reports, support requests."""
    if not actor.is_ministry:
        raise forbidden("Les indicateurs du réseau sont réservés au Ministère.")
    as_of = as_of or clock.today()
    reports = session.scalars(select(CeracReport).order_by(CeracReport.due_date)).all()
    by_status = {key: 0 for key in STATUS_LABELS}
    late = []
    late_versions = 0
    for report in reports:
        by_status[report.status] = by_status.get(report.status, 0) + 1
        if is_overdue(report, as_of):
            late.append(
                {
                    "report_id": report.id,
                    "cerac_id": report.cerac_id,
                    "organisation_name": report.cerac.organisation_name,
                    "kind": report.kind,
                    "period_label": report.period_label,
                    "special_mandate_id": report.special_mandate_id,
                    "due_date": report.due_date.isoformat(),
                    "days_late": days_late(report.due_date, as_of),
                }
            )
        late_versions += sum(1 for v in report.versions if v.late)
    received = dict(
        session.execute(
            select(SupportRequest.cerac_id, func.count()).group_by(SupportRequest.cerac_id)
        ).all()
    )
    answered = dict(
        session.execute(
            select(SupportRequest.cerac_id, func.count())
            .where(SupportRequest.answered_at.is_not(None))
            .group_by(SupportRequest.cerac_id)
        ).all()
    )
    support = [
        {
            "cerac_id": c.id,
            "organisation_name": c.organisation_name,
            "education_order": c.education_order,
            "received": int(received.get(c.id, 0)),
            "answered": int(answered.get(c.id, 0)),
        }
        for c in session.scalars(select(CeracRecord).order_by(CeracRecord.organisation_name))
    ]
    return {
        "as_of": as_of.isoformat(),
        "reports_by_status": [
            {"status": key, "label": STATUS_LABELS[key], "count": count}
            for key, count in by_status.items()
        ],
        "reports_total": len(reports),
        "late_reports": late,
        "late_count": len(late),
        "late_submissions": late_versions,
        "support_requests": support,
        "support_totals": {
            "received": sum(r["received"] for r in support),
            "answered": sum(r["answered"] for r in support),
        },
    }


# -- views ----------------------------------------------------------------------------------


def _dec(value) -> str | None:
    """Decimal as a string with two decimals (``"12.50"``), None stays None."""
    if value is None:
        return None
    return str(Decimal(value).quantize(Decimal("0.01")))


def report_summary(report: CeracReport, as_of: date | None = None) -> dict:
    last = report.versions[-1] if report.versions else None
    return summary_of(
        report,
        report.cerac,
        last.submitted_at if last else None,
        bool(last and last.late),
        as_of,
    )


def summary_of(
    report: CeracReport,
    cerac: CeracRecord,
    last_submitted_at: datetime | None,
    last_late: bool | None,
    as_of: date | None = None,
) -> dict:
    """A ``ReportSummary`` from the report, its CERAC and its last version's deposit (a
    list selects them together rather than loading each report's versions)."""
    as_of = as_of or clock.today()
    return {
        "id": report.id,
        "cerac_id": report.cerac_id,
        "organisation_id": cerac.organisation_id,
        "organisation_name": cerac.organisation_name,
        "education_order": cerac.education_order,
        "kind": report.kind,
        "kind_label": KIND_LABELS[report.kind],
        "period_label": report.period_label,
        "experimentation_year": report.experimentation_year,
        "special_mandate_id": report.special_mandate_id,
        "due_date": report.due_date.isoformat(),
        "status": report.status,
        "status_label": STATUS_LABELS.get(report.status, report.status),
        "overdue": is_overdue(report, as_of),
        "days_late": days_late(report.due_date, as_of) if is_overdue(report, as_of) else 0,
        "versions_count": report.versions_count,
        "last_submitted_at": aware(last_submitted_at).isoformat() if last_submitted_at else None,
        "last_version_late": bool(last_late),
        "updated_at": report.updated_at.isoformat(),
    }


def attachment_view(attachment: Attachment) -> dict:
    return {
        "id": attachment.id,
        "section": attachment.report_section,
        "filename": attachment.filename,
        "mime": attachment.mime,
        "size": attachment.size,
        "sha256": attachment.sha256,
        "uploaded_by": attachment.uploaded_by_name,
        "uploaded_at": attachment.uploaded_at.isoformat(),
    }


def version_view(version: ReportVersion) -> dict:
    return {
        "number": version.number,
        "submitted_at": version.submitted_at.isoformat(),
        "submitted_by": version.submitted_by_name,
        "due_date": version.due_date.isoformat(),
        "late": version.late,
        "decision": version.decision,
        "decision_label": STATUS_LABELS.get(version.decision, "En analyse")
        if version.decision
        else "En analyse",
        "comments": dict(version.comments or {}),
        "general_comment": version.general_comment or "",
        "reviewed_at": version.reviewed_at.isoformat() if version.reviewed_at else None,
        "reviewed_by": version.reviewed_by_name,
    }


def deadline_view(deadline: ReportingDeadline) -> dict:
    return {
        "experimentation_year": deadline.experimentation_year,
        "due_date": deadline.due_date.isoformat(),
        "set_by": deadline.set_by_name,
    }


def report_view(session: Session, actor: Actor, report: CeracReport) -> dict:
    attachments = [attachment_view(a) for a in attachments_of(session, report.id)]
    frozen = _frozen_attachment_ids(report)
    for attachment in attachments:
        attachment["frozen"] = attachment["id"] in frozen
    missing = report_completeness(report)
    sections = _section_dicts(report)
    for section in sections:
        section["missing"] = missing.get(section["key"], [])
        section["attachments"] = [a for a in attachments if a["section"] == section["key"]]
    versions = [version_view(v) for v in report.versions]
    last = versions[-1] if versions else None
    mandate = report.special_mandate
    mine = actor.is_institution and report.cerac.organisation_id == actor.organisation_id
    return {
        **report_summary(report),
        "cerac": {
            "id": report.cerac_id,
            "organisation_name": report.cerac.organisation_name,
            "education_order": report.cerac.education_order,
        },
        "special_mandate": mandate_view(mandate) if mandate else None,
        "sections": sections,
        "missing": missing.get("_rapport", []),
        "complete": not any(missing.values()),
        "versions": versions,
        "last_review": last if last and last["decision"] else None,
        "can_edit": bool(mine and report.status in EDITABLE),
        "can_review": actor.role in STAFF_ROLES and report.status == REPORT_SUBMITTED,
        "require_indicators": report.kind == REPORT_YEARLY,
    }


def mandate_view(mandate) -> dict:
    return {
        "id": mandate.id,
        "cerac_id": mandate.cerac_id,
        "organisation_name": mandate.cerac.organisation_name,
        "object": mandate.object,
        "deliverables": list(mandate.deliverables),
        "due_date": mandate.due_date.isoformat(),
        "amount": str(mandate.amount),
        "assigned_by": mandate.assigned_by_name,
        "assigned_at": mandate.assigned_at.isoformat(),
    }
