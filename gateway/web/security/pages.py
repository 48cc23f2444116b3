"""Pages of the second sign-in step, of enrolment, of one's own account security, and the
ministry administrator's reset of a user's second factor."""

from __future__ import annotations

from pydantic import Field
from werkzeug.wrappers import Response

from gateway import audit, directory, two_factor
from gateway.models import User
from gateway.web.framework import PUBLIC, SIGNED_IN, Ctx, HttpError, notices, post, route
from gateway.web.security.session import (
    ENROL,
    SECOND_STEP_COOKIE,
    VERIFY,
    check_second_step,
    pending_user,
    safe_next,
    set_session_cookie,
)
from rac_shared.actor import Role
from rac_shared.audit import SubjectType
from rac_shared.contracts.base import Strict
from rac_shared.errors import DomainError, not_found

notices(
    double_authentification_desactivee="La double authentification est désactivée.",
    double_authentification_reinitialisee=(
        "La double authentification de cette personne est réinitialisée : ses sessions sont "
        "fermées et elle configurera une nouvelle application à sa prochaine connexion."
    ),
)


class CodeForm(Strict):
    code: str = Field(min_length=1, max_length=40, title="Code de vérification")


class SecondStepForm(CodeForm):  # the second step's (or an enrolment's) code, and where next
    suite: str = Field("/", max_length=2000)


def _record(ctx: Ctx, session, user: User, action: str, summary: str, changes=None) -> None:
    """The change of a person's second factor, in the audit trail (their account)."""
    audit.record(
        session,
        action=action,
        summary=summary,
        actor=ctx.actor,
        subject_type=str(SubjectType.ACCOUNT),
        subject_id=user.id,
        subject_label=user.email,
        organisation_id=user.organisation_id,
        changes=changes,
        correlation_id=ctx.correlation_id,
    )


def _suite(ctx: Ctx) -> str:
    return safe_next(ctx.request.values.get("suite"))


# -- the second step of the sign-in -----------------------------------------------------


@route("/connexion/verification", methods=("GET",), access=PUBLIC)
def second_step_form(ctx: Ctx) -> Response:
    if ctx.actor is not None and ctx.form_state is None:
        return ctx.redirect("/")
    with ctx.db() as session:
        user = pending_user(ctx, session, ctx.request.cookies.get(SECOND_STEP_COOKIE), VERIFY)
    if user is None:
        return ctx.redirect("/connexion")
    return ctx.render("security/second_step.html.j2", form=ctx.form({"suite": _suite(ctx)}))


@post("/connexion/verification", SecondStepForm, second_step_form, PUBLIC)
def second_step(ctx: Ctx, form: SecondStepForm) -> Response:
    with ctx.db() as session:
        token = ctx.request.cookies.get(SECOND_STEP_COOKIE)
        user = check_second_step(ctx, session, token, form.code)
        if user is None:
            return ctx.redirect("/connexion")
        set_session_cookie(ctx, user, second_factor=True)
    return ctx.redirect(safe_next(form.suite))


# -- enrolment: at a first mandatory sign-in, or by choice from the account page ----------


def _enrolling_user(ctx: Ctx, session) -> User | None:
    """The signed-in user setting up an app, or the one whose password step requires it."""
    if ctx.actor is not None:
        return session.get(User, ctx.actor.user_id)
    return pending_user(ctx, session, ctx.request.cookies.get(SECOND_STEP_COOKIE), ENROL)


@route("/connexion/activation", methods=("GET",), access=PUBLIC)
def enrolment_form(ctx: Ctx) -> Response:
    with ctx.db() as session:
        user = _enrolling_user(ctx, session)
        if user is None:
            return ctx.redirect("/connexion")
        if two_factor.enrolled(user):
            return ctx.redirect("/compte/securite")
        secret = two_factor.start_enrolment(user)
        email = user.email
        session.commit()
    uri = two_factor.provisioning_uri(secret, email)
    return ctx.render(
        "security/enrol.html.j2",
        qr_code=two_factor.qr_code_svg(uri),
        secret=" ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
        form=ctx.form({"suite": _suite(ctx)}),
        mandatory=ctx.actor is None,
    )


@post("/connexion/activation", SecondStepForm, enrolment_form, PUBLIC)
def enrol(ctx: Ctx, form: SecondStepForm) -> Response:
    with ctx.db() as session:
        user = _enrolling_user(ctx, session)
        if user is None:
            return ctx.redirect("/connexion")
        if two_factor.enrolled(user):
            return ctx.redirect("/compte/securite")
        ctx.actor = directory.actor_for(user)
        try:
            codes = two_factor.confirm_enrolment(session, ctx.settings, user, form.code)
        except DomainError:
            session.commit()  # keeps the failure count
            raise
        _record(ctx, session, user, "second_factor_enrolled", "Double authentification activée")
        set_session_cookie(ctx, user, second_factor=True)
        session.commit()
    return ctx.render(
        "security/recovery_codes.html.j2", codes=codes, suite=safe_next(form.suite), first=True
    )


# -- one's own account ------------------------------------------------------------------


@route("/compte/securite", access=SIGNED_IN)
def account_security(ctx: Ctx) -> Response:
    with ctx.db() as session:
        user = session.get(User, ctx.actor.user_id)
        enrolled = two_factor.enrolled(user)
        remaining = two_factor.unused_recovery_codes(session, user) if enrolled else 0
    return ctx.render(
        "security/account.html.j2",
        enrolled=enrolled,
        mandatory=directory.second_factor_required(ctx.actor.role),
        remaining=remaining,
        form=ctx.form(),
    )


@post("/compte/securite/codes", CodeForm, account_security, SIGNED_IN)
def regenerate_recovery_codes(ctx: Ctx, form: CodeForm) -> Response:
    def renew(session, user: User) -> list[str]:
        two_factor.verify(session, ctx.settings, user, form.code)
        codes = two_factor.new_recovery_codes(session, user)
        _record(ctx, session, user, "recovery_codes_renewed", "Codes de récupération renouvelés")
        return codes

    codes = _on_own_account(ctx, renew)
    return ctx.render("security/recovery_codes.html.j2", codes=codes, suite="/", first=False)


@post("/compte/securite/desactiver", CodeForm, account_security, SIGNED_IN)
def disable_second_factor(ctx: Ctx, form: CodeForm) -> Response:
    def turn_off(session, user: User) -> None:
        two_factor.disable(session, ctx.settings, user, form.code)
        _record(ctx, session, user, "second_factor_disabled", "Double authentification désactivée")

    try:
        _on_own_account(ctx, turn_off)
    except DomainError as exc:
        if exc.code == "forbidden":
            raise HttpError(403, exc.message) from None
        raise
    return ctx.done("/compte/securite", "double_authentification_desactivee")


def _on_own_account(ctx: Ctx, change):
    """``change(session, user)`` on the signed-in user's account, committed; when it is
    refused, what it counted (a wrong code) is committed all the same."""
    with ctx.db() as session:
        user = session.get(User, ctx.actor.user_id)
        try:
            result = change(session, user)
        finally:
            session.commit()
        return result


# -- the ministry administrator's reset ---------------------------------------------------


def reset_second_factor_of(ctx: Ctx, user_id: int) -> int:
    """Reset a user's second factor (the administrator's page and API); returns the user's
    organisation id, for the page to go back to."""
    with ctx.db() as session:
        user = session.get(User, user_id)
        if user is None:
            raise not_found("Utilisateur introuvable.")
        two_factor.reset(session, user)
        _record(
            ctx,
            session,
            user,
            "second_factor_reset",
            f"Double authentification de {user.full_name} réinitialisée; ses sessions sont fermées",
            changes=[
                {"field": "Double authentification", "before": "Activée", "after": "À configurer"}
            ],
        )
        organisation_id = user.organisation_id
        session.commit()
    return organisation_id


@route(
    "/utilisateurs/<int:user_id>/double-authentification/reinitialiser",
    methods=("POST",),
    access={Role.MINISTRY_ADMIN},
)
def reset_second_factor(ctx: Ctx, user_id: int) -> Response:
    organisation_id = reset_second_factor_of(ctx, user_id)
    return ctx.done(f"/organisations/{organisation_id}", "double_authentification_reinitialisee")
