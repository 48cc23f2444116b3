"""The audit trail in the API: the journal and an object's history (each reading recorded)."""

from __future__ import annotations

from gateway.schemas import AuditEntryList, JournalQuery
from gateway.web.audit.pages import AUDIT_READERS, history_of, journal_page_of
from gateway.web.framework import Ctx, route


@route("/api/audit/journal", access=AUDIT_READERS, query=JournalQuery)
def api_journal(ctx: Ctx) -> AuditEntryList:
    """Le journal d'audit du Ministère (filtres, 100 entrées par page)"""
    entries, more = journal_page_of(ctx, ctx.query, export=False)
    return AuditEntryList(entries=entries, page=ctx.query.page, more=more)


@route("/api/audit/history/<subject_type>/<subject_id>", access=AUDIT_READERS)
def api_history(ctx: Ctx, subject_type: str, subject_id: str) -> AuditEntryList:
    """L'historique d'un objet (appel, candidature, plan, facture…)"""
    _, entries = history_of(ctx, subject_type, subject_id)
    return AuditEntryList(entries=entries, page=1, more=False)
