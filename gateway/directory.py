"""Users and organisations: login, password reset, tenant lookups. No HTTP in here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from gateway import audit, auth, throttling
from gateway.models import AuditEntry, Organisation, PasswordResetToken, User
from rac_shared.actor import MINISTRY_ROLES, Actor, OrganisationKind, Role
from rac_shared.clock import aware, clock
from rac_shared.contracts.directory import ArticleChoice, GenderChoice, OrganisationArticleIn
from rac_shared.errors import DomainError, forbidden, invalid, not_found
from rac_shared.events import UserPasswordResetRequested
from rac_shared.french import Article, named
from rac_shared.outbox import record_event
from rac_shared.settings import Settings

RESET_TOKEN_LIFETIME = timedelta(hours=1)
MIN_PASSWORD_LENGTH = 12


def actor_for(user: User) -> Actor:
    return Actor(
        user_id=user.id,
        role=Role(user.role),
        organisation_id=user.organisation_id,
        organisation_kind=OrganisationKind(user.organisation.kind),
        full_name=user.full_name,
        form_of_address=user.form_of_address,
    )


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def authenticate(session: Session, settings: Settings, email: str, password: str, ip: str) -> User:
    """Check the credentials, unless this address must wait (``gateway.throttling``); the
    caller commits, failures included."""
    key = email.strip().lower()
    throttling.serialise_attempts(session, key)
    throttling.check_login_allowed(session, settings, key, ip)
    user = find_user_by_email(session, email)
    if not auth.verify_password(user.password_hash if user else None, password) or not (
        user and user.active
    ):
        throttling.record_failure(session, key, ip)
        raise DomainError("Courriel ou mot de passe incorrect.", code="unauthenticated")
    throttling.forget_failures(session, key, ip)
    return user


@dataclass(frozen=True)
class SessionOrganisation:
    id: int
    name: str
    kind: str


@dataclass(frozen=True)
class SessionUser:
    """What a request needs to know about its user, read in one query on every request."""

    id: int
    email: str
    full_name: str
    role: str
    organisation: SessionOrganisation
    form_of_address: str | None = None

    @property
    def organisation_id(self) -> int:
        return self.organisation.id

    def actor(self) -> Actor:
        return Actor(
            user_id=self.id,
            role=Role(self.role),
            organisation_id=self.organisation.id,
            organisation_kind=OrganisationKind(self.organisation.kind),
            full_name=self.full_name,
            form_of_address=self.form_of_address,
        )


_SESSION_USER_QUERY = (
    select(
        User.id,
        User.email,
        User.full_name,
        User.form_of_address,
        User.role,
        User.active,
        User.session_version,
        User.totp_enabled_at,
        Organisation.id.label("organisation_id"),
        Organisation.name,
        Organisation.kind,
    )
    .join(Organisation, Organisation.id == User.organisation_id)
    .where(User.id == bindparam("user_id"))
)


def fetch_session_row(session: Session, user_id: int) -> Any | None:
    """The directory row a request's session check needs (a single indexed query)."""
    return session.execute(_SESSION_USER_QUERY, {"user_id": user_id}).first()


def session_user_from_row(row: Any | None, claims: auth.TokenClaims) -> SessionUser | None:
    """The user behind a token, if still active and the token not revoked.

    Checked on every request, so that a disabled account or a logout takes effect at once.
    A pending sign-in (password step only) is never a session, nor is a token without the
    second factor for a user who must, or chose to, sign in with one.
    """
    if row is None or not row.active or row.session_version != claims.session_version:
        return None
    if claims.stage is not None or (
        not claims.second_factor and second_factor_in_force(row.role, row.totp_enabled_at)
    ):
        return None
    return SessionUser(
        id=row.id,
        email=row.email,
        full_name=row.full_name,
        role=row.role,
        organisation=SessionOrganisation(row.organisation_id, row.name, row.kind),
        form_of_address=getattr(row, "form_of_address", None),  # rows of older caches lack it
    )


def second_factor_required(role: str) -> bool:
    """Whether the role must sign in with a second factor (the ministry's roles)."""
    return Role(role) in MINISTRY_ROLES


def second_factor_in_force(role: str, enrolled_at) -> bool:
    """Whether a session of this user needs the second factor: mandatory, or chosen."""
    return enrolled_at is not None or second_factor_required(role)


def load_session_user(session: Session, claims: auth.TokenClaims) -> SessionUser | None:
    return session_user_from_row(fetch_session_row(session, claims.user_id), claims)


def revoke_sessions(user: User) -> None:
    user.session_version += 1


def request_password_reset(session: Session, settings: Settings, email: str) -> None:
    """Always behaves the same whether or not the address exists (no enumeration), or
    has had its e-mails for the hour (``Settings.password_reset_per_hour``)."""
    user = find_user_by_email(session, email)
    if user is None or not user.active:
        return
    throttling.serialise_attempts(session, f"reset:{user.id}")
    if not throttling.reset_mail_allowed(session, settings, user.id, RESET_TOKEN_LIFETIME):
        return
    token, token_hash = auth.new_reset_token()
    expires_at = clock.now() + RESET_TOKEN_LIFETIME
    session.add(PasswordResetToken(user_id=user.id, token_hash=token_hash, expires_at=expires_at))
    record_event(
        session,
        UserPasswordResetRequested(
            user_id=user.id,
            email=user.email,
            full_name=user.full_name,
            reset_url=f"{settings.public_url}/mot-de-passe/reinitialiser/{token}",
            expires_at=expires_at,
        ),
    )


def reset_password(session: Session, token: str, new_password: str, confirmation: str) -> User:
    reset = session.scalar(
        select(PasswordResetToken).where(
            PasswordResetToken.token_hash == auth.hash_reset_token(token)
        )
    )
    if reset is None or reset.used_at is not None or aware(reset.expires_at) < clock.now():
        raise invalid(
            "Ce lien de réinitialisation est invalide ou expiré. Faites une nouvelle demande."
        )
    check_new_password(new_password, confirmation)
    user = session.get(User, reset.user_id)
    user.password_hash = auth.hash_password(new_password)
    revoke_sessions(user)
    reset.used_at = clock.now()
    return user


def check_new_password(password: str, confirmation: str) -> None:
    errors = {}
    if len(password) < MIN_PASSWORD_LENGTH:
        errors["password"] = (
            f"Le mot de passe doit compter au moins {MIN_PASSWORD_LENGTH} caractères."
        )
    elif password != confirmation:
        errors["confirmation"] = "La confirmation ne correspond pas au mot de passe."
    if errors:
        raise invalid("Le mot de passe n'a pas été changé.", errors)


def organisation_view(organisation: Organisation) -> dict:
    return {
        "id": organisation.id,
        "kind": organisation.kind,
        "name": organisation.name,
        "code": organisation.code,
        "education_order": organisation.education_order,
        "region": organisation.region,
        "address": organisation.address,
        **articled(organisation),
    }


def articled(organisation: Organisation) -> dict:
    """The article and gender running text uses for the name: the directory's when set, else
    the default its first word implies."""
    default = named(organisation.name)
    article = default.article if organisation.article is None else Article(organisation.article)
    gender = organisation.gender or default.gender
    return {"article": article.value, "gender": str(gender)}


# Who may correct how running text introduces an organisation's name: the ministry's
# administrator for any, the organisation's own director general or employer representative.
ARTICLE_EDITORS = frozenset(
    {Role.MINISTRY_ADMIN, Role.DIRECTOR_GENERAL, Role.EMPLOYER_REPRESENTATIVE}
)


def may_edit_article(actor: Actor, organisation_id: int) -> bool:
    return actor.role in ARTICLE_EDITORS and (
        actor.role == Role.MINISTRY_ADMIN or actor.organisation_id == organisation_id
    )


def set_article(
    session: Session, actor: Actor, organisation_id: int, data: OrganisationArticleIn
) -> dict:
    """Record the article and gender of an organisation's name (``auto``: the default its
    first word implies). Documents written from now on use them; issued ones never change."""
    organisation = session.get(Organisation, organisation_id)
    if organisation is None or not actor.owns(organisation.id):
        raise not_found("Organisation introuvable.")
    if not may_edit_article(actor, organisation_id):
        raise forbidden(
            "Seules l'administration du Ministère et la direction de l'organisation peuvent "
            "modifier l'article de son nom."
        )
    article = {ArticleChoice.DEFAULT: None, ArticleChoice.NONE: Article.NONE.value}.get(
        data.article, data.article.value
    )
    organisation.article = article
    organisation.gender = None if data.gender == GenderChoice.DEFAULT else data.gender.value
    session.flush()
    return organisation_view(organisation)


def user_view(user: User) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "full_name": user.full_name,
        "title": user.title,
        "form_of_address": user.form_of_address,
        "role": user.role,
        "organisation_id": user.organisation_id,
        "organisation_name": user.organisation.name,
        "active": user.active,
    }


def visible_organisations(session: Session, actor: Actor, kind: str | None = None) -> list[dict]:
    """The ministry sees every organisation; others see their own only."""
    query = select(Organisation).order_by(Organisation.name)
    if not actor.is_ministry:
        query = query.where(Organisation.id == actor.organisation_id)
    if kind:
        query = query.where(Organisation.kind == kind)
    return [organisation_view(o) for o in session.scalars(query)]


def list_organisations(session: Session, kinds: list[str] | None = None) -> list[dict]:
    query = select(Organisation).order_by(Organisation.name)
    if kinds:
        query = query.where(Organisation.kind.in_(kinds))
    return [organisation_view(o) for o in session.scalars(query)]


def visible_organisation(session: Session, actor: Actor, organisation_id: int) -> dict:
    organisation = session.get(Organisation, organisation_id)
    if organisation is None or not actor.owns(organisation.id):
        raise not_found("Organisation introuvable.")
    return organisation_view(organisation)


def users_of_organisation(
    session: Session, organisation_id: int, roles: list[str] | None = None
) -> list[dict]:
    query = select(User).where(User.organisation_id == organisation_id, User.active.is_(True))
    if roles:
        query = query.where(User.role.in_(roles))
    return [user_view(u) for u in session.scalars(query.order_by(User.full_name))]


def users_with_roles(session: Session, roles: list[str]) -> list[dict]:
    """Active users holding these roles in any organisation (the evaluators of the ministry
    and of the network's institutions)."""
    query = select(User).where(User.role.in_(roles), User.active.is_(True))
    return [user_view(u) for u in session.scalars(query.order_by(User.full_name, User.id))]


def enrolled_in_second_factor(session: Session, user_ids: list[int]) -> set[int]:
    """Which of these users have a second factor in force (for the administrator's reset)."""
    return set(
        session.scalars(
            select(User.id).where(User.id.in_(user_ids), User.totp_enabled_at.is_not(None))
        )
    )


def record_audit(
    session: Session,
    *,
    actor: Actor | None,
    method: str,
    path: str,
    action: str,
    status: int,
    ip: str | None,
    correlation_id: str | None,
) -> None:
    """A state-changing request, chained into the audit trail."""
    audit.append(
        session,
        AuditEntry(
            kind=audit.REQUEST,
            source="gateway",
            at=clock.now(),
            user_id=actor.user_id if actor else None,
            actor_name=actor.full_name if actor else None,
            organisation_id=actor.organisation_id if actor else None,
            method=method,
            path=path[:500],
            action=action,
            status=status,
            ip=ip,
            correlation_id=correlation_id,
        ),
    )
