"""The audit trail: one append-only, hash-chained ledger in the gateway's database.

Every entry carries ``prev_hash``, the hash of the entry before it, and its own ``hash``:
SHA-256 over ``prev_hash`` and the entry's canonical JSON. Appending locks the chain's head
row (``audit_chain_head``), so the web replicas and the gateway's service, which all write
entries, make one chain in ``seq`` order. ``verify_chain`` (``rac audit verify``) walks it
and names the first broken link: an entry altered, removed or inserted after the fact.

Entries come from three places: every state-changing request (``kind="request"``, from the
web framework), the facts the services record (``kind="record"``: their ``audit.recorded``
events and their domain events, see ``gateway/audit_facts.py``), and each reading of the
journal (``kind="read"``). No HTTP in here.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gateway.audit_facts import fact_of
from gateway.models import AuditChainHead, AuditEntry, User
from rac_shared.actor import Actor
from rac_shared.clock import clock, start_of_day

GENESIS = "0" * 64
REQUEST, RECORD, READ = "request", "record", "read"
KIND_LABELS = {REQUEST: "Requête", RECORD: "Fait consigné", READ: "Consultation"}

# What the hash covers, in this order: everything an entry says. Never change it (the
# entries already chained would no longer verify); a new column is added to the end.
HASHED = (
    "seq", "kind", "source", "at", "user_id", "actor_name", "organisation_id", "method",
    "path", "action", "status", "ip", "correlation_id", "subject_type", "subject_id",
    "subject_label", "summary", "changes", "event_id",
)  # fmt: skip


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def entry_hash(entry: AuditEntry, prev_hash: str) -> str:
    values = {name: getattr(entry, name) for name in HASHED}
    values["at"] = _utc(entry.at).isoformat(timespec="microseconds")
    canonical = json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(f"{prev_hash}\n{canonical}".encode()).hexdigest()


def append(session: Session, entry: AuditEntry) -> AuditEntry:
    """Chain ``entry`` after the last one, in the session's transaction (the caller commits:
    the head stays locked until then, so keep that transaction short)."""
    head = session.scalar(select(AuditChainHead).where(AuditChainHead.id == 1).with_for_update())
    if head is None:  # a database made by create_all (the migration inserts it)
        head = AuditChainHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    entry.at = _utc(entry.at or clock.now())
    entry.seq = head.seq + 1
    entry.prev_hash = head.hash
    entry.hash = entry_hash(entry, head.hash)
    head.seq, head.hash = entry.seq, entry.hash
    session.add(entry)
    return entry


def record(
    session: Session,
    *,
    action: str,
    summary: str,
    actor: Actor | None = None,
    kind: str = RECORD,
    subject_type: str | None = None,
    subject_id: str | int | None = None,
    subject_label: str | None = None,
    changes: list[dict] | None = None,
    organisation_id: int | None = None,
    correlation_id: str | None = None,
) -> AuditEntry:
    """The gateway's own facts (a second factor reset, a reading of the journal)."""
    return append(
        session,
        AuditEntry(
            kind=kind,
            source="gateway",
            at=clock.now(),
            user_id=actor.user_id if actor else None,
            actor_name=actor.full_name if actor else None,
            organisation_id=organisation_id
            if organisation_id is not None
            else (actor.organisation_id if actor else None),
            action=action,
            summary=summary,
            subject_type=subject_type,
            subject_id=str(subject_id) if subject_id is not None else None,
            subject_label=subject_label,
            changes=changes or None,
            correlation_id=correlation_id,
        ),
    )


def append_once(session: Session, entry: AuditEntry) -> bool:
    """Append an entry made from an event, unless that event is already in the chain."""
    if session.scalar(select(AuditEntry.id).where(AuditEntry.event_id == entry.event_id)):
        return False
    try:
        with session.begin_nested():
            append(session, entry)
            session.flush()
    except IntegrityError:  # the same event appended by another replica meanwhile
        return False
    return True


def append_fact(session: Session, envelope, payload) -> bool:
    """A service's record (an event of its outbox) in the chain, once per event."""
    fact = fact_of(payload)
    actor_name = fact.actor_name
    if actor_name is None and fact.actor_user_id is not None:
        actor_name = session.scalar(select(User.full_name).where(User.id == fact.actor_user_id))
    return append_once(
        session,
        AuditEntry(
            kind=RECORD,
            source=envelope.source,
            at=envelope.occurred_at,
            user_id=fact.actor_user_id,
            actor_name=actor_name,
            organisation_id=fact.organisation_id,
            action=fact.action,
            summary=fact.summary,
            subject_type=str(fact.subject_type),
            subject_id=fact.subject_id,
            subject_label=fact.subject_label or None,
            changes=[change.model_dump() for change in fact.changes] or None,
            correlation_id=envelope.correlation_id,
            event_id=str(envelope.event_id),
        ),
    )


# -- reading -------------------------------------------------------------------------------

JOURNAL_PAGE = 100


def journal(session: Session, query) -> tuple[list[dict], bool]:
    """The journal's entries matching ``query`` (a ``JournalQuery``), newest first: one page,
    and whether there is another."""
    statement = select(AuditEntry)
    if query.du:
        statement = statement.where(AuditEntry.at >= start_of_day(query.du))
    if query.au:
        statement = statement.where(AuditEntry.at < start_of_day(query.au + timedelta(1)))
    if query.personne:
        statement = statement.where(_contains(AuditEntry.actor_name, query.personne))
    if query.objet:
        statement = statement.where(AuditEntry.subject_type == str(query.objet))
    if query.nature:
        statement = statement.where(AuditEntry.kind == str(query.nature))
    if query.texte:
        statement = statement.where(
            _contains(AuditEntry.summary, query.texte)
            | _contains(AuditEntry.path, query.texte)
            | _contains(AuditEntry.subject_label, query.texte)
            | _contains(AuditEntry.action, query.texte)
        )
    rows = session.scalars(
        statement.order_by(AuditEntry.seq.desc())
        .offset((query.page - 1) * JOURNAL_PAGE)
        .limit(JOURNAL_PAGE + 1)
    ).all()
    return views(session, rows[:JOURNAL_PAGE]), len(rows) > JOURNAL_PAGE


def history(session: Session, subject_type: str, subject_id: str) -> list[dict]:
    """An object's entries, oldest first; a plan's include its versions' and estimates'."""
    condition = (AuditEntry.subject_type == subject_type) & (AuditEntry.subject_id == subject_id)
    if subject_type == "plan":  # its versions' entries and their estimates' (``3.2``)
        condition = condition | (
            AuditEntry.subject_type.in_(("plan_version", "estimate"))
            & AuditEntry.subject_id.like(f"{_like(subject_id)}.%", escape="\\")
        )
    return views(
        session, session.scalars(select(AuditEntry).where(condition).order_by(AuditEntry.seq)).all()
    )


def views(session: Session, entries: list[AuditEntry]) -> list[dict]:
    """Entries as pages and the API show them. A service's record that does not name who
    did it is attributed to the signed-in person whose request caused it (same correlation
    id), read in one query."""
    unnamed = {e.correlation_id for e in entries if e.kind == RECORD and not e.actor_name}
    unnamed.discard(None)
    requesters = {}
    if unnamed:
        for correlation_id, user_id, name in session.execute(
            select(AuditEntry.correlation_id, AuditEntry.user_id, AuditEntry.actor_name).where(
                AuditEntry.kind == REQUEST,
                AuditEntry.correlation_id.in_(unnamed),
                AuditEntry.actor_name.is_not(None),
            )
        ):
            requesters[correlation_id] = (user_id, name)
    return [_view(entry, requesters.get(entry.correlation_id)) for entry in entries]


def _view(entry: AuditEntry, requester: tuple | None) -> dict:
    user_id, name = entry.user_id, entry.actor_name
    if not name and requester and entry.kind == RECORD:
        user_id, name = requester
    return {
        "seq": entry.seq,
        "at": _utc(entry.at),
        "kind": entry.kind,
        "source": entry.source,
        "actor_user_id": user_id,
        "actor_name": name,
        "organisation_id": entry.organisation_id,
        "action": entry.action,
        "summary": entry.summary,
        "method": entry.method,
        "path": entry.path,
        "status": entry.status,
        "subject_type": entry.subject_type,
        "subject_id": entry.subject_id,
        "subject_label": entry.subject_label,
        "changes": entry.changes or [],
        "correlation_id": entry.correlation_id,
        "hash": entry.hash,
    }


def _contains(column, text: str):
    return column.ilike(f"%{_like(text)}%", escape="\\")


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# -- verification ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    entries: int
    broken_at: int | None = None  # the seq of the first broken link
    reason: str = ""

    @property
    def intact(self) -> bool:
        return self.broken_at is None


def _in_order(session: Session, batch: int = 2000) -> Iterator[AuditEntry]:
    last = 0
    while True:
        rows = session.scalars(
            select(AuditEntry).where(AuditEntry.seq > last).order_by(AuditEntry.seq).limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq
        session.expunge_all()


def verify_chain(session: Session) -> Verdict:
    """Walk the chain from its start; the first entry that does not follow from the one
    before it (wrong seq, prev_hash or hash), or a head that is not the last entry."""
    return check_links(_in_order(session), _head(session))


def _head(session: Session) -> tuple[int, str]:
    head = session.get(AuditChainHead, 1)
    return (head.seq, head.hash) if head else (0, GENESIS)


def check_links(entries: Iterable[AuditEntry], head: tuple[int, str]) -> Verdict:
    expected_seq, prev = 1, GENESIS
    count = 0
    for entry in entries:
        if entry.seq != expected_seq:
            return Verdict(count, expected_seq, f"l'entrée n° {expected_seq} manque")
        if entry.prev_hash != prev:
            return Verdict(count, entry.seq, "elle ne suit pas l'entrée précédente")
        if entry_hash(entry, prev) != entry.hash:
            return Verdict(count, entry.seq, "son contenu a été modifié")
        prev, expected_seq, count = entry.hash, expected_seq + 1, count + 1
    if head != (count, prev):
        return Verdict(count, count + 1, "la fin du journal a été retirée")
    return Verdict(count)
