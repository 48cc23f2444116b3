"""The API's second sign-in step, and the administrator's reset of a user's second factor."""

from __future__ import annotations

from gateway import auth
from gateway.schemas import Accepted, SecondFactorRequest, TokenResponse
from gateway.web.framework import PUBLIC, Ctx, HttpError, route
from gateway.web.security.pages import reset_second_factor_of
from gateway.web.security.session import check_second_step
from rac_shared.actor import Role
from rac_shared.errors import DomainError


@route("/api/auth/second-factor", methods=("POST",), access=PUBLIC, body=SecondFactorRequest)
def api_second_factor(ctx: Ctx) -> TokenResponse:
    """Deuxième étape de la connexion : le code de l'application ou un code de récupération"""
    try:
        with ctx.db() as session:
            user = check_second_step(ctx, session, ctx.body.challenge_token, ctx.body.code)
            if user is None:
                raise HttpError(
                    401,
                    "Le jeton de la première étape est invalide ou expiré. "
                    "Recommencez la connexion.",
                )
            token, _ = auth.issue_token(
                ctx.settings, user.id, user.session_version, second_factor=True
            )
    except DomainError as exc:
        if exc.code == "invalid":  # a wrong code: 401, as a wrong password
            raise DomainError(exc.message, exc.details, "unauthenticated") from None
        raise
    return TokenResponse(access_token=token, expires_in=ctx.settings.session_minutes * 60)


@route(
    "/api/users/<int:user_id>/second-factor/reset", methods=("POST",), access={Role.MINISTRY_ADMIN}
)
def api_reset_second_factor(ctx: Ctx, user_id: int) -> Accepted:
    """Réinitialiser la double authentification d'une personne (administration du Ministère)"""
    reset_second_factor_of(ctx, user_id)
    return {
        "message": "Double authentification réinitialisée : la personne configurera une "
        "nouvelle application à sa prochaine connexion."
    }
