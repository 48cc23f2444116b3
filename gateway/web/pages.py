"""Server-rendered French pages (no JavaScript needed)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from pydantic import Field
from werkzeug.utils import safe_join
from werkzeug.wrappers import Response

from gateway import auth, directory
from gateway.models import User
from gateway.schemas import PasswordResetRequest, TokenRequest
from gateway.web.framework import (
    ALL_ROLES,
    PUBLIC,
    SESSION_COOKIE,
    SIGNED_IN,
    Ctx,
    HttpError,
    notices,
    post,
    route,
)
from gateway.web.home import gather_next_actions, role_actions
from gateway.web.passthrough import Post, page_actions
from gateway.web.security.session import password_checked, safe_next, start_page_session
from rac_shared.actor import KIND_LABELS, MINISTRY_ROLES, OrganisationKind
from rac_shared.contracts.base import Strict
from rac_shared.contracts.directory import ArticleChoice, GenderChoice, OrganisationArticleIn
from rac_shared.contracts.notifications import Preferences
from rac_shared.french import named

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"


class LoginForm(TokenRequest):
    suite: str = Field("/", max_length=2000)


class OrganisationQuery(Strict):
    """``?type=cegep``: the organisations of one kind (page and API)."""

    kind: OrganisationKind | None = Field(None, alias="type", title="Type d'organisation")


class PasswordForm(Strict):
    password: str = Field(max_length=200, title="Nouveau mot de passe")
    confirmation: str = Field(max_length=200, title="Confirmation")


notices(
    deconnecte="Vous êtes déconnecté.",
    reinitialise="Votre mot de passe a été changé. Connectez-vous avec le nouveau.",
    preferences="Vos préférences ont été enregistrées.",
    article="L'article du nom est enregistré : les textes produits désormais le suivent.",
)


@route("/connexion", methods=("GET",), access=PUBLIC)
def login_form(ctx: Ctx) -> Response:
    if ctx.actor is not None and ctx.form_state is None:
        return ctx.redirect("/")
    return ctx.render(
        "login.html.j2", form=ctx.form({"suite": safe_next(ctx.request.args.get("suite"))})
    )


@route("/connexion", methods=("POST",), access=PUBLIC, form=LoginForm, on_error=login_form)
def login(ctx: Ctx, form: LoginForm) -> Response:
    with password_checked(ctx, form.email, form.password) as user:
        # The session cookie, or first the second factor's page.
        return start_page_session(ctx, user, safe_next(form.suite))


@route("/deconnexion", methods=("POST",), access=SIGNED_IN)
def logout(ctx: Ctx) -> Response:
    with ctx.transaction() as session:
        directory.revoke_sessions(session.get(User, ctx.user.id))
    ctx.delete_cookies.append(SESSION_COOKIE)
    return ctx.done("/connexion", "deconnecte")


@route("/", access=SIGNED_IN)
def home(ctx: Ctx) -> Response:
    actions, unavailable = gather_next_actions(ctx)
    return ctx.render(
        "home.html.j2", actions=actions, always=role_actions(ctx.actor), unavailable=unavailable
    )


@route("/mot-de-passe/oubli", methods=("GET",), access=PUBLIC)
def password_forgotten_form(ctx: Ctx) -> Response:
    return ctx.render("password_forgotten.html.j2", sent=False, form=ctx.form())


@post("/mot-de-passe/oubli", PasswordResetRequest, password_forgotten_form, PUBLIC)
def password_forgotten(ctx: Ctx, form: PasswordResetRequest) -> Response:
    with ctx.transaction() as session:
        directory.request_password_reset(session, ctx.settings, form.email)
    return ctx.render("password_forgotten.html.j2", sent=True, email=form.email, form=ctx.form())


@route("/mot-de-passe/reinitialiser/<token>", methods=("GET",), access=PUBLIC)
def password_reset_form(ctx: Ctx, token: str) -> Response:
    return ctx.render("password_reset.html.j2", token=token, form=ctx.form())


@post("/mot-de-passe/reinitialiser/<token>", PasswordForm, password_reset_form, PUBLIC)
def password_reset(ctx: Ctx, token: str, form: PasswordForm) -> Response:
    with ctx.transaction() as session:
        directory.reset_password(session, token, form.password, form.confirmation)
    ctx.delete_cookies.append(SESSION_COOKIE)
    return ctx.done("/connexion", "reinitialise")


@route("/organisations", access=MINISTRY_ROLES, query=OrganisationQuery)
def organisations_page(ctx: Ctx) -> Response:
    selected = ctx.query.kind.value if ctx.query.kind else ""
    with ctx.db() as session:
        organisations = directory.visible_organisations(session, ctx.actor, selected or None)
    return ctx.render(
        "organisations.html.j2",
        organisations=organisations,
        kind_labels=KIND_LABELS,
        kinds=list(OrganisationKind),
        selected=selected,
    )


@route("/organisations/<int:organisation_id>", access=ALL_ROLES, tenant=True)
def organisation_page(ctx: Ctx, organisation_id: int) -> Response:
    with ctx.db() as session:
        organisation = directory.visible_organisation(session, ctx.actor, organisation_id)
        members = directory.users_of_organisation(session, organisation_id)
        enrolled = directory.enrolled_in_second_factor(session, [m["id"] for m in members])
    return ctx.render(
        "organisation.html.j2",
        organisation=organisation,
        members=members,
        enrolled=enrolled,
        kind_labels=KIND_LABELS,
        named=named(organisation),
        may_edit_article=directory.may_edit_article(ctx.actor, organisation_id),
        form=ctx.form(
            {"article": _article_choice(organisation), "gender": organisation["gender"]},
            endpoint="organisation_article",
        ),
        article_choices=ArticleChoice.choices(),
        gender_choices=GenderChoice.choices(),
    )


def _article_choice(organisation: dict) -> str:
    """What the form shows as chosen: the directory's article as the vocabulary names it."""
    return {"": ArticleChoice.NONE.value}.get(organisation["article"], organisation["article"])


@route(
    "/organisations/<int:organisation_id>/article",
    methods=("POST",),
    access=directory.ARTICLE_EDITORS,
    tenant=True,
    form=OrganisationArticleIn,
    on_error=organisation_page,
)
def organisation_article(ctx: Ctx, organisation_id: int, form: OrganisationArticleIn) -> Response:
    with ctx.transaction() as session:
        directory.set_article(session, ctx.actor, organisation_id, form)
    return ctx.done(f"/organisations/{organisation_id}", "article")


@route("/messages", access=SIGNED_IN)
def inbox_page(ctx: Ctx) -> Response:
    inbox = ctx.inbox()
    ctx.unread_messages = inbox.unread
    return ctx.render("inbox.html.j2", inbox=inbox)


@route("/messages/<int:message_id>/lu", methods=("POST",), access=SIGNED_IN)
def mark_message_read(ctx: Ctx, message_id: int) -> Response:
    ctx.notifications.mark_read(notification_id=message_id)
    ctx.app.inbox.forget(ctx.actor.user_id)
    return ctx.redirect("/messages")


@route("/messages/preferences", access=SIGNED_IN)
def preferences_page(ctx: Ctx) -> Response:
    return ctx.render("preferences.html.j2", form=ctx.form(ctx.notifications.get_preferences()))


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
    with ctx.db() as session:
        user = session.get(User, user_id)
        if user is None or not user.active:
            raise HttpError(404, INVALID_UNSUBSCRIBE_LINK)
        return directory.actor_for(user).model_dump(mode="json")


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
        data={"optional_reminders": False},
    )
    return ctx.render("unsubscribe.html.j2", token=token, subscribed=False, done=True)


@route("/static/<path:filename>", access=PUBLIC)
def static_file(ctx: Ctx, filename: str) -> Response:
    path = safe_join(str(STATIC_DIR), filename)
    if path is None or not Path(path).is_file():
        raise HttpError(404)
    return _static_response(Path(path))


STATIC_TYPES = {
    "css": "text/css",
    "js": "text/javascript",
    "svg": "image/svg+xml",
    "png": "image/png",
    "ico": "image/x-icon",
    "woff2": "font/woff2",
}


def _static_response(path: Path) -> Response:
    mimetype = STATIC_TYPES.get(path.suffix.lstrip("."), "application/octet-stream")
    response = Response(path.read_bytes(), mimetype=mimetype)
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@route("/favicon.ico", access=PUBLIC)
def favicon(ctx: Ctx) -> Response:
    """Browsers ask for it at the root whatever the page says: the design system's icon."""
    return _static_response(STATIC_DIR / "sdg" / "img" / "favicon.ico")


@route("/healthz", access=PUBLIC)
def healthz(ctx: Ctx) -> dict:
    """The process is up (no dependency checked), and whether its session cache serves."""
    return {
        "status": "ok",
        "session_cache": "on" if ctx.app.sessions.listening else "off",
        "inbox_read_model": "on" if ctx.app.inbox.feed.connected else "off",
    }


@route("/readyz", access=PUBLIC)
def readyz(ctx: Ctx) -> tuple[dict, int]:
    """The broker and every service answer, each with its own database."""
    services = ("applications", "scoring", "plans", "billing", "notifications", "gateway")
    calls = {name: partial(ctx.app.rpc.call, name, "health", timeout=3) for name in services}
    results = ctx.app.rpc.parallel(calls)
    report = {
        name: ("ok" if not isinstance(r, Exception) else "indisponible")
        for name, r in results.items()
    }
    ready = all(v == "ok" for v in report.values())
    return {"status": "ok" if ready else "indisponible", "services": report}, 200 if ready else 503


# -- forms that are one RPC, then a notice (``page_actions``) ------------------------------

# fmt: off
page_actions(
    "notifications", preferences_page, SIGNED_IN,
    Post("save_preferences", "/messages/preferences", "set_preferences", "/messages/preferences",
         "preferences", Preferences),
)
# fmt: on
