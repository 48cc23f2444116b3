"""The ministry's journal (filters, CSV export) and each object's « Historique » page.

Reading the trail is itself recorded in it (``kind="read"``), with what was asked.
"""

from __future__ import annotations

from urllib.parse import urlencode

from werkzeug.wrappers import Response

from gateway import audit
from gateway.schemas import EntryKind, JournalQuery
from gateway.web.framework import Ctx, HttpError, route
from gateway.web.lists import Column, table
from gateway.web.responses import csv_download
from rac_shared.actor import Role
from rac_shared.audit import SubjectType
from rac_shared.formatting import short_datetime
from rac_shared.tabular import csv_text

# Who reads the trail: the ministry's administration and its analysts.
AUDIT_READERS = frozenset({Role.MINISTRY_ADMIN, Role.MINISTRY_ANALYST})


def _changes(entry: dict) -> str:
    return " ; ".join(
        f"{c['field']} : {c.get('before') or '—'} → {c.get('after') or '—'}"
        for c in entry["changes"]
    )


# The journal's CSV, a column per line: its title and its cell.
CSV_COLUMNS = (
    Column("N°", lambda e: e["seq"]),
    Column("Date et heure", lambda e: short_datetime(e["at"])),
    Column("Nature", lambda e: EntryKind.label_of(e["kind"])),
    Column("Source", lambda e: e["source"]),
    Column("Personne", lambda e: e["actor_name"] or ""),
    Column("Objet", lambda e: SubjectType.label_of(e["subject_type"]) if e["subject_type"] else ""),
    Column("Référence", lambda e: e["subject_label"] or e["subject_id"] or ""),
    Column("Action", lambda e: e["action"]),
    Column("Résumé", lambda e: e["summary"] or ""),
    Column("Avant → après", _changes),
    Column("Requête", lambda e: f"{e['method']} {e['path']}" if e["method"] else ""),
    Column("Statut HTTP", lambda e: e["status"] or ""),
    Column("Empreinte", lambda e: e["hash"]),
)


def read_and_record(ctx: Ctx, reading, *, action: str, summary: str, subject=(None, None)):
    """Run ``reading(session)`` and record, in the same transaction, that it was read."""
    with ctx.db() as session:
        result = reading(session)
        audit.record(
            session,
            kind=audit.READ,
            action=action,
            summary=summary,
            actor=ctx.actor,
            subject_type=subject[0],
            subject_id=subject[1],
            correlation_id=ctx.correlation_id,
        )
        session.commit()
        return result


def journal_page_of(ctx: Ctx, query: JournalQuery, export: bool):
    shown = query.model_dump(exclude_defaults=True, mode="json")  # the filters, as recorded
    filters = ", ".join(f"{key} = {value}" for key, value in shown.items()) or "aucun filtre"
    return read_and_record(
        ctx,
        lambda session: audit.journal(session, query),
        action="journal_exported" if export else "journal_read",
        summary=("Export CSV du journal" if export else "Consultation du journal")
        + f" ({filters})",
        subject=(str(SubjectType.JOURNAL), "ministere"),
    )


def _journal_url(query: JournalQuery, page: int) -> str:
    filters = query.model_dump(exclude_defaults=True, exclude={"page"}, mode="json")
    return "/journal?" + urlencode({**filters, "page": page})


@route("/journal", access=AUDIT_READERS, query=JournalQuery)
def journal_page(ctx: Ctx) -> Response:
    entries, more = journal_page_of(ctx, ctx.query, export=False)
    page = ctx.query.page
    return ctx.render(
        "audit/journal.html.j2",
        entries=entries,
        newer=_journal_url(ctx.query, page - 1) if page > 1 else None,
        older=_journal_url(ctx.query, page + 1) if more else None,
        query=ctx.query,
        form=ctx.form(ctx.query),
        subject_types=SubjectType,
        kinds=EntryKind,
        export_query=ctx.request.query_string.decode(),
    )


@route("/journal.csv", access=AUDIT_READERS, query=JournalQuery)
def journal_csv(ctx: Ctx) -> Response:
    entries, _ = journal_page_of(ctx, ctx.query, export=True)
    return csv_download(ctx, csv_text(*table(entries, CSV_COLUMNS)), "journal-audit.csv")


def history_of(ctx: Ctx, subject_type: str, subject_id: str) -> tuple[SubjectType, list[dict]]:
    try:
        kind = SubjectType(subject_type)
    except ValueError:
        raise HttpError(404) from None
    if kind is SubjectType.JOURNAL or not subject_id or len(subject_id) > 60:
        raise HttpError(404)
    entries = read_and_record(
        ctx,
        lambda session: audit.history(session, str(kind), subject_id),
        action="history_read",
        summary=f"Consultation de l'historique : {kind.label.lower()} {subject_id}",
        subject=(str(kind), subject_id),
    )
    return kind, entries


@route("/historique/<subject_type>/<subject_id>", access=AUDIT_READERS)
def history_page(ctx: Ctx, subject_type: str, subject_id: str) -> Response:
    kind, entries = history_of(ctx, subject_type, subject_id)
    label = next((e["subject_label"] for e in reversed(entries) if e["subject_label"]), "")
    return ctx.render(
        "audit/history.html.j2",
        kind=kind,
        subject_id=subject_id,
        label=label,
        entries=entries,
        kinds=EntryKind,
        subject_types=SubjectType,
    )
