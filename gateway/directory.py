"""Users and organisations: login, password reset, tenant lookups. No HTTP in here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from gateway import auth, throttling
from gateway.models import AuditEntry, Organisation, PasswordResetToken, User
from rac_shared.actor import Actor, OrganisationKind, Role
from rac_shared.clock import aware, clock
from rac_shared.errors import DomainError, invalid, not_found
from rac_shared.events import UserPasswordResetRequested
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
        )


_SESSION_USER_QUERY = (
    select(
        User.id,
        User.email,
        User.full_name,
        User.role,
        User.active,
        User.session_version,
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
    """
    if row is None or not row.active or row.session_version != claims.session_version:
        return None
    return SessionUser(
        id=row.id,
        email=row.email,
        full_name=row.full_name,
        role=row.role,
        organisation=SessionOrganisation(row.organisation_id, row.name, row.kind),
    )


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
    }


def user_view(user: User) -> dict:
    return {
        "id": user.id,
        "email": user.email,
        "full_name": user.full_name,
        "title": user.title,
        "role": user.role,
        "organisation_id": user.organisation_id,
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
    session.add(
        AuditEntry(
            at=clock.now(),
            user_id=actor.user_id if actor else None,
            organisation_id=actor.organisation_id if actor else None,
            method=method,
            path=path[:500],
            action=action,
            status=status,
            ip=ip,
            correlation_id=correlation_id,
        )
    )
