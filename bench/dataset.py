"""The bench's large data set: one institution with 5 000 plans, applications, invoices and
reports, another with 50 of each list the like-for-like rows compare.

The platform's own demo (``rac demo``) is the seed: its rows are copied in bulk with one
``INSERT … SELECT … FROM generate_series`` per table (ids shifted by a per-table offset
times the copy's number, unique texts suffixed with it), so that every copy is a row the
services can read and render like the original (real plan contents of about 15 KB, real
answers). Most copies are history, as a cégep's years of plans would be: an offer copied
from an issued one has lapsed, except one copy in twenty (pending offers, which the
employer's and the institution's home pages show).

- Cégep de Lévis (``rac@cegeplevis.demo.quebec``): its 5 demo plans × 1 000, its draft
  application × 5 000 (one per past call, the calls copied as closed), its 6 invoices
  × 834, the demo's annual reports of one CERAC × 1 700 (5 000 and more of each);
- Cégep Marie-Victorin (``rac@cmv.demo.quebec``): 50 plans (Lévis's 5 × 10, renamed);
  the demo's call gets 50 submitted applications (the ministry's applications table).
"""

from __future__ import annotations

from sqlalchemy import create_engine, pool, text

from bench.common import analyze
from services.billing.config import billing_settings

LEVIS, CMV = 2, 3
BIG = 5_000
SMALL = 50


def _columns(connection, table: str) -> list[str]:
    return list(
        connection.execute(
            text(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_name = :t ORDER BY ordinal_position"
            ),
            {"t": table},
        ).scalars()
    )


def _offset(connection, table: str) -> int:
    return int(connection.execute(text(f"SELECT COALESCE(MAX(id), 0) FROM {table}")).scalar())


def clone(
    connection,
    table: str,
    copies: int,
    where: str,
    overrides: dict[str, str] | None = None,
    offsets: dict[str, int] | None = None,
    params: dict | None = None,
) -> int:
    """Insert ``copies`` copies of ``table``'s rows matching ``where`` (``t`` is the row,
    ``k`` the copy's number from 1); ``overrides`` are SQL expressions per column, ``offsets``
    the id offset of the tables whose ids the copies use (``:off_<table>``)."""
    overrides = dict(overrides or {})
    offsets = dict(offsets or {})
    offsets.setdefault(table, _offset(connection, table))
    overrides.setdefault("id", f"t.id + k * :off_{table}")
    columns = _columns(connection, table)
    values = [overrides.get(c, f"t.{c}") for c in columns]
    statement = (
        f"INSERT INTO {table} ({', '.join(columns)}) "
        f"SELECT {', '.join(values)} FROM {table} AS t, generate_series(1, :copies) AS k "
        f"WHERE {where}"
    )
    bound = {"copies": copies, **{f"off_{n}": o for n, o in offsets.items()}, **(params or {})}
    inserted = connection.execute(text(statement), bound).rowcount
    connection.execute(
        text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table}")
    )
    return inserted


def _plans(connection, institution: int, copies: int, target: dict) -> dict:
    """Copies of Lévis's demo plans (with their versions and candidate-workers) for
    ``target`` (institution id, code, reference prefix)."""
    offsets = {t: _offset(connection, t) for t in ("plans", "plan_versions", "plan_candidates")}
    pending = "k % 20 = 0"  # the copies whose offers still wait for the employer
    source = f"t.institution_id = {institution} AND t.id <= :off_plans"
    counted = clone(
        connection,
        "plans",
        copies,
        source,
        {
            "reference": "replace(t.reference, 'CLV', :code) || '-' || k",
            "institution_id": ":institution",
            "institution_code": ":code",
            "status": f"CASE WHEN t.status = 'issued' AND NOT ({pending}) THEN 'lapsed' "
            "ELSE t.status END",
        },
        offsets,
        {"institution": target["id"], "code": target["code"]},
    )
    clone(
        connection,
        "plan_versions",
        copies,
        f"t.plan_id IN (SELECT id FROM plans WHERE {source.replace('t.', '')})",
        {
            "plan_id": "t.plan_id + k * :off_plans",
            "status": f"CASE WHEN t.status = 'issued' AND NOT ({pending}) THEN 'lapsed' "
            "ELSE t.status END",
            "lapsed_on": f"CASE WHEN t.status = 'issued' AND NOT ({pending}) "
            "THEN CAST(t.acceptance_deadline AS date) ELSE t.lapsed_on END",
        },
        offsets,
    )
    clone(
        connection,
        "plan_candidates",
        copies,
        f"t.plan_id IN (SELECT id FROM plans WHERE {source.replace('t.', '')})",
        {"plan_id": "t.plan_id + k * :off_plans"},
        offsets,
    )
    return {"plans": counted}


def seed(urls: dict[str, str]) -> dict:
    """Fill the platform's databases (already migrated, with the demo) with the data set."""
    counts: dict[str, int] = {}
    plans = create_engine(urls["plans"], poolclass=pool.NullPool)
    with plans.begin() as connection:
        demo = connection.execute(
            text("SELECT count(*) FROM plans WHERE institution_id = :i"), {"i": LEVIS}
        ).scalar()
        copies = -(-BIG // demo)
        small = _plans(connection, LEVIS, SMALL // demo, {"id": CMV, "code": "CMV"})
        big = _plans(connection, LEVIS, copies - 1, {"id": LEVIS, "code": "CLV"})
        counts["plans_levis"] = demo + big["plans"]
        counts["plans_cmv"] = small["plans"]
    plans.dispose()

    applications = create_engine(urls["applications"], poolclass=pool.NullPool)
    with applications.begin() as connection:
        # 50 applications in the demo's call: the submitted one of Marie-Victorin, copied for
        # as many other organisations (ids out of the directory's range).
        submitted = connection.execute(
            text("SELECT id, call_id FROM applications WHERE status = 'submitted' LIMIT 1")
        ).one()
        counts["applications_in_call"] = 1 + clone(
            connection,
            "applications",
            SMALL - 1,
            "t.id = :source",
            {
                "organisation_id": "100000 + k",
                "organisation_name": "t.organisation_name || ' (' || k || ')'",
                "organisation_code": "'B' || k",
                "reference": "t.reference || '-' || k",
            },
            params={"source": submitted.id},
        )
        counts["call_id"] = submitted.call_id
        # 5 000 applications of Lévis: one per past call (copies of the demo's, closed).
        calls = {"calls": _offset(connection, "calls")}
        clone(
            connection,
            "calls",
            BIG,
            "t.id = :call",
            {
                "title": "t.title || ' (' || k || ')'",
                "status": "'closed'",
            },
            calls,
            {"call": submitted.call_id},
        )
        counts["applications_levis"] = 1 + clone(
            connection,
            "applications",
            BIG,
            "t.organisation_id = :levis AND t.call_id = :call",
            {
                "call_id": "t.call_id + k * :off_calls",
                "status": "'submitted'",
                "reference": "'CERAC-BEN-CLV-' || k",
                "submitted_at": "t.created_at",
            },
            {**calls, "applications": _offset(connection, "applications")},
            {"levis": LEVIS, "call": submitted.call_id},
        )
        reports = connection.execute(text("SELECT count(*) FROM cerac_reports")).scalar()
        cerac = connection.execute(
            text("SELECT cerac_id FROM cerac_reports GROUP BY cerac_id ORDER BY count(*) DESC")
        ).first()[0]
        per_copy = connection.execute(
            text(
                "SELECT count(*) FROM cerac_reports WHERE cerac_id = :c "
                "AND special_mandate_id IS NULL"
            ),
            {"c": cerac},
        ).scalar()
        counts["reports"] = reports + clone(
            connection,
            "cerac_reports",
            -(-BIG // per_copy),
            "t.cerac_id = :cerac AND t.special_mandate_id IS NULL",
            {
                "period_key": "t.period_key || '#' || k",
                "period_label": "t.period_label || ' (' || k || ')'",
                "status": "'accepted'",
                "accepted_on": "t.due_date",
            },
            params={"cerac": cerac},
        )
    applications.dispose()

    billing = create_engine(urls["billing"], poolclass=pool.NullPool)
    with billing.begin() as connection:
        invoices = connection.execute(
            text("SELECT count(*) FROM invoices WHERE institution_id = :i"), {"i": LEVIS}
        ).scalar()
        counts["invoices_levis"] = invoices + clone(
            connection,
            "invoices",
            -(-BIG // max(invoices, 1)),
            "t.institution_id = :levis",
            {
                "number": "t.number || '-' || k",
                "sequence": "t.sequence + k * 1000",
                "installment_id": "NULL",
            },
            params={"levis": LEVIS},
        )
        # Years of history: the institution's overdue reminders went out long ago (else the
        # reminders job would e-mail thousands at the platform's start, during the runs).
        steps = [str(int(step)) for step in billing_settings().steps]
        connection.execute(
            text(
                "INSERT INTO overdue_reminders (invoice_id, step, days_late, sent_on) "
                "SELECT i.id, s.step, s.step, i.due_on + s.step FROM invoices AS i "
                f"CROSS JOIN (VALUES ({'), ('.join(steps)})) AS s(step) "
                "WHERE i.institution_id = :levis "
                "AND i.due_on + s.step <= CURRENT_DATE ON CONFLICT DO NOTHING"
            ),
            {"levis": LEVIS},
        )
    billing.dispose()
    for service, tables in (
        ("plans", ("plans", "plan_versions", "plan_candidates")),
        ("applications", ("calls", "applications", "cerac_reports")),
        ("billing", ("invoices",)),
    ):
        analyze(urls[service], *tables)
    return counts


# The accounts that see them.
BIG_ACCOUNT = "rac@cegeplevis.demo.quebec"
BIG_EMPLOYER_ACCOUNT = "rh@cisss.demo.quebec"
SMALL_ACCOUNT = "rac@cmv.demo.quebec"
