"""The JSON API under ``/api/`` (Bearer tokens; errors as ``{"error": {...}}``)."""

from __future__ import annotations

from gateway import auth, directory
from gateway.schemas import (
    Accepted,
    HomeResponse,
    MeResponse,
    OrganisationList,
    PasswordResetRequest,
    TokenRequest,
    TokenResponse,
)
from gateway.web.framework import ALL_ROLES, PUBLIC, SIGNED_IN, Ctx, HttpError, route
from gateway.web.home import gather_next_actions, role_actions
from gateway.web.openapi import openapi_document
from gateway.web.pages import OrganisationQuery
from gateway.web.passthrough import Api, passthrough
from gateway.web.security.session import ENROL, password_checked, pending_stage
from rac_shared.actor import ROLE_LABELS, Role
from rac_shared.contracts.directory import OrganisationView
from rac_shared.contracts.notifications import Inbox, MarkedRead


@route("/api/auth/token", methods=("POST",), access=PUBLIC, body=TokenRequest)
def api_token(ctx: Ctx) -> TokenResponse:
    """Obtenir un jeton d'accès"""
    with password_checked(ctx, ctx.body.email, ctx.body.password) as user:
        stage = pending_stage(user)
        if stage == ENROL:
            raise HttpError(403, ENROL_ON_THE_WEB_FIRST)
        token, _ = auth.issue_token(ctx.settings, user.id, user.session_version, stage=stage)
    if stage is not None:  # the second step: POST /api/auth/second-factor with the code
        return TokenResponse(
            second_factor_required=True,
            challenge_token=token,
            expires_in=auth.SECOND_STEP_MINUTES * 60,
        )
    return TokenResponse(access_token=token, expires_in=ctx.settings.session_minutes * 60)


ENROL_ON_THE_WEB_FIRST = (
    "La double authentification est obligatoire pour votre rôle : activez-la d'abord en "
    "vous connectant à la plateforme web."
)


@route(
    "/api/auth/password-reset",
    methods=("POST",),
    access=PUBLIC,
    body=PasswordResetRequest,
    statuses=(202,),
)
def api_password_reset(ctx: Ctx) -> Accepted:
    """Demander un lien de réinitialisation du mot de passe"""
    with ctx.transaction() as session:
        directory.request_password_reset(session, ctx.settings, ctx.body.email)
    message = "Si un compte correspond à cette adresse, un courriel vient de lui être envoyé."
    return {"message": message}, 202


@route("/api/me", access=SIGNED_IN)
def api_me(ctx: Ctx) -> MeResponse:
    """Mon profil"""
    with ctx.db() as session:
        organisation = directory.visible_organisation(session, ctx.actor, ctx.actor.organisation_id)
    return MeResponse(
        id=ctx.user.id,
        email=ctx.user.email,
        full_name=ctx.user.full_name,
        role=ctx.user.role,
        role_label=ROLE_LABELS[Role(ctx.user.role)],
        organisation=OrganisationView(**organisation),
    ).model_dump()


@route("/api/home", access=SIGNED_IN)
def api_home(ctx: Ctx) -> HomeResponse:
    """Ce que l'utilisateur peut faire ensuite"""
    actions, unavailable = gather_next_actions(ctx)
    return {"actions": role_actions(ctx.actor) + actions, "unavailable": unavailable}


@route("/api/organisations", access=ALL_ROLES, query=OrganisationQuery)
def api_organisations(ctx: Ctx) -> OrganisationList:
    """Organisations visibles (toutes pour le Ministère, la sienne sinon)"""
    with ctx.db() as session:
        kind = ctx.query.kind.value if ctx.query.kind else None
        return {"organisations": directory.visible_organisations(session, ctx.actor, kind)}


@route("/api/organisations/<int:organisation_id>", access=ALL_ROLES, tenant=True)
def api_organisation(ctx: Ctx, organisation_id: int) -> OrganisationView:
    """Une organisation"""
    with ctx.db() as session:
        return directory.visible_organisation(session, ctx.actor, organisation_id)


@route("/api/messages", access=SIGNED_IN)
def api_messages(ctx: Ctx) -> Inbox:
    """Mes messages"""
    return ctx.inbox()


@route("/api/messages/<int:message_id>/read", methods=("POST",), access=SIGNED_IN)
def api_mark_read(ctx: Ctx, message_id: int) -> MarkedRead:
    """Marquer un message comme lu"""
    if ctx.request.content_length:
        raise HttpError(400, "Cette requête ne prend pas de corps.")
    marked = ctx.notifications.mark_read(notification_id=message_id)
    ctx.app.inbox.forget(ctx.actor.user_id)
    return marked


# fmt: off
passthrough(
    "notifications",
    Api("api_preferences", "GET /api/messages/preferences", "get_preferences", SIGNED_IN),
    Api("api_set_preferences", "PUT /api/messages/preferences", "set_preferences", SIGNED_IN),
)
# fmt: on


@route("/api/openapi.json", access=PUBLIC)
def api_openapi(ctx: Ctx):
    """Ce document"""
    return openapi_document()
