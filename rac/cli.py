"""``rac``: the operators' command line (migrate, demo, serve, jobs, dead letters).

Part of the composition root: the services it names are the registry's (``rac.registry``).
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date

from rac_shared.french import plural


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rac", description="Plateforme RAC : outils d'exploitation"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("migrate", help="migrate every service's database and declare queues")
    demo = commands.add_parser("demo", help="seed realistic French demo data (idempotent)")
    demo.add_argument("--quiet", action="store_true")
    audit = commands.add_parser("audit", help="the audit trail")
    audit_cmd = audit.add_subparsers(dest="audit_command", required=True)
    audit_cmd.add_parser(
        "verify", help="check the audit trail's hash chain; names the first broken link"
    )
    demo_code = commands.add_parser(
        "demo-code", help="the current second-factor code of a ministry demo account"
    )
    demo_code.add_argument("email")

    serve = commands.add_parser(
        "serve", help="run nameko services (one per process in production; several share one)"
    )
    serve.add_argument("service", nargs="+")

    web = commands.add_parser("web", help="run the web gateway (HTTP)")
    web.add_argument("--host", default="127.0.0.1")
    web.add_argument("--port", type=int, default=8000)
    web.add_argument("--workers", type=int, default=1)

    jobs = commands.add_parser("jobs", help="scheduled jobs")
    jobs_cmd = jobs.add_subparsers(dest="jobs_command", required=True)
    run = jobs_cmd.add_parser("run", help="run a job once")
    run.add_argument("job")
    run.add_argument(
        "--as-of",
        type=date.fromisoformat,
        default=None,
        help="run as of this date (YYYY-MM-DD); default: today",
    )
    jobs_cmd.add_parser("list", help="list the jobs")
    status = jobs_cmd.add_parser("status", help="last and next run of each scheduled job")
    status.add_argument("--json", action="store_true", help="one JSON object per job")
    retry = jobs_cmd.add_parser("retry", help="make a failed or abandoned run due again")
    retry.add_argument("job")
    retry.add_argument("--as-of", type=date.fromisoformat, required=True)

    dead = commands.add_parser("dead-letters", help="inspect and replay dead-lettered events")
    dead_cmd = dead.add_subparsers(dest="dead_command", required=True)
    dead_cmd.add_parser("list")
    replay = dead_cmd.add_parser("replay")
    replay.add_argument("--all", action="store_true", help="replay every dead letter")

    smtp = commands.add_parser("smtp-catcher", help="local SMTP server writing to var/mail")
    smtp.add_argument("--port", type=int, default=1025)
    smtp.add_argument(
        "--pace", type=float, default=0.0, help="seconds before accepting each message (tests)"
    )

    commands.add_parser("relay", help="publish pending outbox events of every service once")
    commands.add_parser(
        "pgbouncer", help="run PgBouncer (transaction pooling) in front of the databases"
    )

    notifications = commands.add_parser("notifications", help="e-mails that could not be sent")
    notifications_cmd = notifications.add_subparsers(dest="notifications_command", required=True)
    notifications_cmd.add_parser("failed", help="list e-mails marked failed")
    retry = notifications_cmd.add_parser("retry", help="send failed e-mails again")
    retry.add_argument("ids", nargs="*", type=int, help="only these ids (default: all)")

    health = commands.add_parser(
        "health", help="ping one service over RPC (exit 0 when it answers, 1 otherwise)"
    )
    health.add_argument("service")
    health.add_argument("--timeout", type=float, default=5.0, help="seconds (default 5)")

    args = parser.parse_args(argv)
    handler = globals()[f"_cmd_{args.command.replace('-', '_')}"]
    return handler(args) or 0


def _cmd_migrate(args) -> int:
    from rac.migrate import migrate
    from rac.processes import declare_queues
    from rac_shared.bus import QueueTypeMismatch
    from rac_shared.migrations import RoleSetupRefused

    try:
        steps = migrate(progress=sys.stderr.isatty())
    except RoleSetupRefused as exc:  # a managed server: its administrator creates the roles
        print(f"PostgreSQL : migration interrompue — {exc}.", file=sys.stderr)
        return 1
    for step in steps:
        print(f"PostgreSQL : {step}.")
    print("Bases de données à jour.")
    try:
        count = declare_queues()
        print(f"Files RabbitMQ déclarées : {count}.")
    except QueueTypeMismatch as exc:  # the operator must migrate the queues first
        print(f"RabbitMQ : {exc}.", file=sys.stderr)
        return 1
    except Exception as exc:  # the broker may start later; services declare at start too
        print(f"RabbitMQ injoignable ({exc}); les files seront déclarées au démarrage.")
    return 0


def _cmd_demo(args) -> int:
    from rac.demo import run_demo

    summary = run_demo()
    if not args.quiet:
        print(summary)
    return 0


def _cmd_audit(args) -> int:
    """``rac audit verify``: exit 0 when the chain is intact, 1 naming the first broken link."""
    from gateway.audit import verify_chain
    from gateway.models import Base
    from rac_shared.db import SessionFactory

    session = SessionFactory("gateway", Base.metadata)()
    try:
        verdict = verify_chain(session)
    finally:
        session.close()
    if verdict.intact:
        print(f"Journal d'audit intact : {verdict.entries} entrées chaînées.")
        return 0
    print(
        f"Journal d'audit rompu à l'entrée n° {verdict.broken_at} : {verdict.reason} "
        f"({verdict.entries} entrées vérifiées avant elle)."
    )
    return 1


def _cmd_demo_code(args) -> int:
    """Only the demo's published secrets (never a database's): harmless in production."""
    from gateway.demo import DEMO_TOTP_SECRETS, current_code

    if args.email not in DEMO_TOTP_SECRETS:
        print(f"Pas un compte de démonstration du Ministère : {', '.join(DEMO_TOTP_SECRETS)}")
        return 1
    print(current_code(args.email))
    return 0


def _cmd_serve(args) -> int:
    from rac import registry
    from rac.processes import serve

    unknown = [name for name in args.service if name not in registry.services()]
    if unknown:
        print(
            f"Service inconnu : {', '.join(unknown)}. Choix : {', '.join(registry.services())}",
            file=sys.stderr,
        )
        return 2
    serve(*args.service)
    return 0


def _cmd_web(args) -> int:
    from gateway.web.app import serve

    serve(args.host, args.port, args.workers)
    return 0


def _cmd_jobs(args) -> int:
    from rac.jobs import all_jobs, jobs_status, retry_job, run_job

    jobs = all_jobs()
    if args.jobs_command == "list":
        for name, job in jobs.items():
            print(f"{name:<20} {job.service:<13} {job.time_of_day():%H:%M}  {job.description}")
        return 0
    if args.jobs_command == "status":
        _print_jobs_status(jobs_status(), as_json=args.json)
        return 0
    if args.job not in jobs:
        print(f"Tâche inconnue : {args.job}. Choix : {', '.join(jobs)}", file=sys.stderr)
        return 2
    if args.jobs_command == "retry":
        if not retry_job(args.job, args.as_of):
            print(
                f"Aucune exécution en échec de {args.job} au {args.as_of.isoformat()}.",
                file=sys.stderr,
            )
            return 1
        print(f"{args.job} au {args.as_of.isoformat()} : nouvel essai au prochain passage.")
        return 0
    result = run_job(args.job, args.as_of)
    print(json.dumps(result, ensure_ascii=False, default=str))
    return 0


def _print_jobs_status(rows: list[dict], as_json: bool) -> None:
    from rac_shared.scheduler import STATUS_LABELS

    if as_json:
        for row in rows:
            print(json.dumps(row, ensure_ascii=False, default=str))
        return
    print(f"{'tâche':<20} {'heure':<6} {'dernière exécution':<44} prochaine (date de calcul)")
    for row in rows:
        last = row["last"]
        if last is None:
            done = "jamais"
        else:
            done = f"{last['as_of']} {STATUS_LABELS[last['status']]}"
            if last["attempts"] > 1:
                done += f" ({last['attempts']} essais)"
        upcoming = f"{row['next_at'][:16].replace('T', ' ')} (au {row['next_as_of']})"
        print(f"{row['job']:<20} {row['time']:<6} {done:<44} {upcoming}")
        if last and last["status"] == "succeeded" and last["result"]:
            print(f"{'':<27} {json.dumps(last['result'], ensure_ascii=False)}")
        if last and last["error"]:
            print(f"{'':<27} {last['error'].strip().splitlines()[-1]}")


def _cmd_dead_letters(args) -> int:
    from rac_shared import dead_letters

    if args.dead_command == "list":
        letters = dead_letters.list_dead_letters()
        if not letters:
            print("Aucun message en lettre morte.")
        for letter in letters:
            print(json.dumps(letter, ensure_ascii=False, default=str))
        return 0
    count = dead_letters.replay_dead_letters()
    print(f"{plural(count, 'message renvoyé')} à leur file d'origine.")
    return 0


def _cmd_smtp_catcher(args) -> int:
    from rac_shared.smtp_catcher import run

    run(args.port, args.pace)
    return 0


def _cmd_pgbouncer(args) -> int:
    from rac_shared.pgbouncer import run

    run()
    return 0


def _cmd_notifications(args) -> int:
    from rac import registry
    from rac_shared.db import SessionFactory
    from services.notifications import domain

    session = SessionFactory("notifications", registry.service("notifications").metadata)()
    try:
        if args.notifications_command == "failed":
            failed = domain.failed_emails(session)
            if not failed:
                print("Aucun courriel en échec.")
            for row in failed:
                print(json.dumps(row, ensure_ascii=False, default=str))
            return 0
        count = domain.retry_failed_emails(session, args.ids)
        session.commit()
        print(f"{plural(count, 'courriel remis', 'courriels remis')} en file d'envoi.")
        return 0
    finally:
        session.close()


def _cmd_relay(args) -> int:
    from rac.processes import relay_all_services

    print(f"{plural(relay_all_services(), 'événement publié')}.")
    return 0


def _cmd_health(args) -> int:
    """``rac health <service>``: the service's ``health`` RPC (its process answers and its
    own database is reachable), within ``--timeout``; what a container healthcheck runs."""
    from rac import registry

    if args.service not in registry.services():
        print(
            f"Service inconnu : {args.service}. Choix : {', '.join(registry.services())}",
            file=sys.stderr,
        )
        return 2
    import eventlet

    # The RPC client's reply consumer is a green thread; patched before kombu is imported,
    # its reconnection sleeps are green too. Kept light: a healthcheck runs it every 30 s.
    eventlet.monkey_patch()
    from gateway.rpc_client import RpcClient, RpcTimeout, RpcUnavailable
    from rac_shared.settings import get_settings

    client = RpcClient(get_settings().amqp_uri, timeout=args.timeout, pool_size=1)
    try:
        report = client.call(args.service, "health", timeout=args.timeout)
    except RpcUnavailable as exc:
        print(f"{args.service} : indisponible ({exc})", file=sys.stderr)
        return 1
    except RpcTimeout:
        print(f"{args.service} : aucune réponse en {args.timeout:g} s", file=sys.stderr)
        return 1
    except Exception as exc:  # the service answered with an error (e.g. its database)
        print(f"{args.service} : en erreur ({exc})", file=sys.stderr)
        return 1
    finally:
        client.stop()
    print(json.dumps(report, ensure_ascii=False, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
