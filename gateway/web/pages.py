"""Server-rendered French pages (no JavaScript needed)."""

from __future__ import annotations

from pathlib import Path

from werkzeug.utils import safe_join
from werkzeug.wrappers import Response

from gateway import auth, directory
from gateway.models import User
from gateway.web.framework import (
    ALL_ROLES,
    PUBLIC,
    SESSION_COOKIE,
    SIGNED_IN,
    Ctx,
    HttpError,
    json_response,
    route,
)
from gateway.web.home import gather_next_actions, role_actions
from rac_shared.actor import KIND_LABELS, MINISTRY_ROLES, OrganisationKind
from rac_shared.errors import DomainError

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


def _safe_next(target: str | None) -> str:
    """Only local paths: never redirect a user to another site after login."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    # Browsers drop tabs and newlines from URLs ("/\t/evil.example" is "//evil.example"),
    # and a newline cannot go in a Location header at all.
    if any(ord(c) < 32 or ord(c) == 127 for c in target):
        return "/"
    return target


@route("/connexion", methods=("GET",), access=PUBLIC)
def login_form(ctx: Ctx) -> Response:
    if ctx.actor is not None:
        return ctx.redirect("/")
    return ctx.render(
        "login.html.j2", next=_safe_next(ctx.request.args.get("suite")), email="", error=None
    )


@route("/connexion", methods=("POST",), access=PUBLIC)
def login(ctx: Ctx) -> Response:
    form = ctx.request.form
    email = form.get("email", "").strip()[:254]
    next_url = _safe_next(form.get("suite"))
    session = ctx.db()
    try:
        user = directory.authenticate(
            session, ctx.settings, email, form.get("password", "")[:200], ctx.client_ip()
        )
        token, _ = auth.issue_token(ctx.settings, user.id, user.session_version)
        ctx.actor = directory.actor_for(user)  # the audit log records who logged in
        session.commit()
    except DomainError as exc:
        session.commit()  # keeps the failure count
        status = 429 if exc.code == "too_many_requests" else 401
        return ctx.render(
            "login.html.j2", status=status, next=next_url, email=email, error=exc.message
        )
    finally:
        session.close()
    # A fresh token (new jti) at every login: no session fixation.
    ctx.set_cookies.append((SESSION_COOKIE, token, {"max_age": ctx.settings.session_minutes * 60}))
    return ctx.redirect(next_url)


@route("/deconnexion", methods=("POST",), access=SIGNED_IN)
def logout(ctx: Ctx) -> Response:
    session = ctx.db()
    try:
        user = session.get(User, ctx.user.id)
        directory.revoke_sessions(user)
        session.commit()
    finally:
        session.close()
    ctx.delete_cookies.append(SESSION_COOKIE)
    return ctx.redirect("/connexion?deconnecte=1")


@route("/", access=SIGNED_IN)
def home(ctx: Ctx) -> Response:
    actions, unavailable = gather_next_actions(ctx)
    return ctx.render(
        "home.html.j2", actions=actions, always=role_actions(ctx.actor), unavailable=unavailable
    )


@route("/mot-de-passe/oubli", methods=("GET",), access=PUBLIC)
def password_forgotten_form(ctx: Ctx) -> Response:
    return ctx.render("password_forgotten.html.j2", sent=False, email="")


@route("/mot-de-passe/oubli", methods=("POST",), access=PUBLIC)
def password_forgotten(ctx: Ctx) -> Response:
    email = ctx.request.form.get("email", "").strip()[:254]
    if "@" not in email:
        return ctx.render(
            "password_forgotten.html.j2",
            status=422,
            sent=False,
            email=email,
            error="Indiquez une adresse courriel valide.",
        )
    session = ctx.db()
    try:
        directory.request_password_reset(session, ctx.settings, email)
        session.commit()
    finally:
        session.close()
    return ctx.render("password_forgotten.html.j2", sent=True, email=email)


@route("/mot-de-passe/reinitialiser/<token>", methods=("GET",), access=PUBLIC)
def password_reset_form(ctx: Ctx, token: str) -> Response:
    return ctx.render("password_reset.html.j2", token=token, errors={}, error=None)


@route("/mot-de-passe/reinitialiser/<token>", methods=("POST",), access=PUBLIC)
def password_reset(ctx: Ctx, token: str) -> Response:
    form = ctx.request.form
    session = ctx.db()
    try:
        directory.reset_password(
            session, token, form.get("password", "")[:200], form.get("confirmation", "")[:200]
        )
        session.commit()
    except DomainError as exc:
        session.rollback()
        return ctx.render(
            "password_reset.html.j2",
            status=422,
            token=token,
            errors=exc.details or {},
            error=exc.message,
        )
    finally:
        session.close()
    ctx.delete_cookies.append(SESSION_COOKIE)
    return ctx.redirect("/connexion?reinitialise=1")


@route("/organisations", access=MINISTRY_ROLES)
def organisations_page(ctx: Ctx) -> Response:
    session = ctx.db()
    try:
        organisations = directory.visible_organisations(
            session, ctx.actor, ctx.request.args.get("type") or None
        )
    finally:
        session.close()
    return ctx.render(
        "organisations.html.j2",
        organisations=organisations,
        kind_labels={k.value: v for k, v in KIND_LABELS.items()},
        kinds=list(OrganisationKind),
        selected=ctx.request.args.get("type", ""),
    )


@route("/organisations/<int:organisation_id>", access=ALL_ROLES, tenant=True)
def organisation_page(ctx: Ctx, organisation_id: int) -> Response:
    session = ctx.db()
    try:
        organisation = directory.visible_organisation(session, ctx.actor, organisation_id)
        members = directory.users_of_organisation(session, organisation_id)
    finally:
        session.close()
    return ctx.render(
        "organisation.html.j2",
        organisation=organisation,
        members=members,
        kind_labels={k.value: v for k, v in KIND_LABELS.items()},
    )


@route("/messages", access=SIGNED_IN)
def inbox_page(ctx: Ctx) -> Response:
    inbox = ctx.inbox()
    ctx.unread_messages = inbox["unread"]
    return ctx.render("inbox.html.j2", inbox=inbox)


@route("/messages/<int:message_id>/lu", methods=("POST",), access=SIGNED_IN)
def mark_message_read(ctx: Ctx, message_id: int) -> Response:
    ctx.rpc("notifications", "mark_read", notification_id=message_id)
    ctx.app.inbox.forget(ctx.actor.user_id)
    return ctx.redirect("/messages")


@route("/messages/preferences", access=SIGNED_IN)
def preferences_page(ctx: Ctx) -> Response:
    preferences = ctx.rpc("notifications", "get_preferences")
    return ctx.render(
        "preferences.html.j2",
        preferences=preferences,
        saved=bool(ctx.request.args.get("enregistre")),
    )


@route("/messages/preferences", methods=("POST",), access=SIGNED_IN)
def save_preferences(ctx: Ctx) -> Response:
    ctx.rpc(
        "notifications",
        "set_preferences",
        optional_reminders=ctx.request.form.get("optional_reminders") == "on",
    )
    return ctx.redirect("/messages/preferences?enregistre=1")


INVALID_UNSUBSCRIBE_LINK = (
    "Ce lien de désabonnement n'est pas valide. Connectez-vous pour gérer vos préférences "
    "de notification."
)


def _unsubscribing_actor(ctx: Ctx, token: str) -> dict:
    """The user a one-click unsubscribe link was signed for (404 for any other link)."""
    try:
        user_id, _ = auth.read_unsubscribe_token(ctx.settings, token)
    except auth.InvalidToken:
        raise HttpError(404, INVALID_UNSUBSCRIBE_LINK) from None
    session = ctx.db()
    try:
        user = session.get(User, user_id)
        if user is None or not user.active:
            raise HttpError(404, INVALID_UNSUBSCRIBE_LINK)
        return directory.actor_for(user).model_dump(mode="json")
    finally:
        session.close()


@route("/desabonnement/<token>", methods=("GET",), access=PUBLIC)
def unsubscribe_page(ctx: Ctx, token: str) -> Response:
    """Where a mail client without one-click support sends the reader: says what the link
    does, and turns reminders off only when the button is pressed (a GET changes nothing,
    as link scanners open every URL of a message)."""
    actor = _unsubscribing_actor(ctx, token)
    preferences = ctx.rpc("notifications", "get_preferences", actor=actor)
    return ctx.render(
        "unsubscribe.html.j2",
        token=token,
        subscribed=preferences["optional_reminders"],
        done=False,
    )


@route("/desabonnement/<token>", methods=("POST",), access=PUBLIC, csrf=False)
def unsubscribe(ctx: Ctx, token: str) -> Response:
    """RFC 8058's one-click POST (``List-Unsubscribe=One-Click``), sent by the mail client
    without cookies: the signed token is the only authority, and it can only turn the
    user's optional reminders off. Answered 200 with a page, never a redirect."""
    ctx.rpc(
        "notifications",
        "set_preferences",
        actor=_unsubscribing_actor(ctx, token),
        optional_reminders=False,
    )
    return ctx.render("unsubscribe.html.j2", token=token, subscribed=False, done=True)


@route("/static/<path:filename>", access=PUBLIC)
def static_file(ctx: Ctx, filename: str) -> Response:
    path = safe_join(str(STATIC_DIR), filename)
    if path is None or not Path(path).is_file():
        raise HttpError(404)
    mimetype = {"css": "text/css", "svg": "image/svg+xml", "png": "image/png"}.get(
        path.rsplit(".", 1)[-1], "application/octet-stream"
    )
    response = Response(Path(path).read_bytes(), mimetype=mimetype)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@route("/healthz", access=PUBLIC)
def healthz(ctx: Ctx) -> Response:
    """The process is up (no dependency checked), and whether its session cache serves."""
    return json_response(
        {
            "status": "ok",
            "session_cache": "on" if ctx.app.sessions.listening else "off",
            "inbox_read_model": "on" if ctx.app.inbox.feed.connected else "off",
        }
    )


@route("/readyz", access=PUBLIC)
def readyz(ctx: Ctx) -> Response:
    """The broker and every service answer, each with its own database."""
    services = ("applications", "scoring", "plans", "billing", "notifications", "gateway")
    results = ctx.app.rpc.parallel(
        {name: (lambda n=name: ctx.app.rpc.call(n, "health", timeout=3)) for name in services}
    )
    report = {
        name: ("ok" if not isinstance(r, Exception) else "indisponible")
        for name, r in results.items()
    }
    ready = all(v == "ok" for v in report.values())
    return json_response(
        {"status": "ok" if ready else "indisponible", "services": report}, 200 if ready else 503
    )
