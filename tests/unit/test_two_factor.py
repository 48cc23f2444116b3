"""The second factor's rules on the gateway's own tables (SQLite): enrolment, the one-time
use of a code's step, the window, throttling, recovery codes, disabling and reset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyotp
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from gateway import two_factor
from gateway.models import Base, Organisation, RecoveryCode, User
from rac_shared.clock import clock
from rac_shared.errors import DomainError
from rac_shared.settings import Settings

NOW = datetime(2026, 12, 7, 15, 0, 10, tzinfo=UTC)


@pytest.fixture
def session():
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as db:
        db.add(Organisation(id=1, kind="cegep", name="Cégep de Lévis", code="CLV"))
        db.add(
            User(
                id=1,
                email="rac@cegeplevis.demo.quebec",
                full_name="Sophie Bélanger",
                role="rac_coordinator",
                organisation_id=1,
                password_hash="x",
                active=True,
                session_version=1,
                created_at=NOW,
            )
        )
        db.commit()
        yield db


@pytest.fixture
def settings():
    return Settings(login_max_failures=3, login_window_minutes=15)


def enrolled_user(session, settings) -> tuple[User, list[str]]:
    user = session.get(User, 1)
    with clock.frozen_at(NOW):
        secret = two_factor.start_enrolment(user)
        codes = two_factor.confirm_enrolment(
            session, settings, user, pyotp.TOTP(secret).at(NOW - timedelta(seconds=30))
        )
    return user, codes


def test_enrolment_needs_a_right_code_and_gives_ten_hashed_recovery_codes(session, settings):
    user = session.get(User, 1)
    with clock.frozen_at(NOW):
        secret = two_factor.start_enrolment(user)
        assert two_factor.start_enrolment(user) == secret  # the QR code shown again is the same
        with pytest.raises(DomainError) as refused:
            two_factor.confirm_enrolment(session, settings, user, "000000")
        assert refused.value.details == {"code": two_factor.WRONG_CODE}
        assert not two_factor.enrolled(user)
        codes = two_factor.confirm_enrolment(session, settings, user, pyotp.TOTP(secret).at(NOW))
    assert two_factor.enrolled(user)
    assert len(codes) == len(set(codes)) == 10
    stored = session.scalars(select(RecoveryCode.code_hash)).all()
    assert len(stored) == 10 and not set(codes) & set(stored)
    assert all(h.startswith("$argon2") for h in stored)
    assert "Plateforme%20RAC" in two_factor.provisioning_uri(secret, user.email)
    assert two_factor.qr_code_svg("otpauth://totp/x?secret=" + secret).startswith("<svg")


def test_a_code_is_accepted_once_and_only_within_a_step_of_the_clock(session, settings):
    user, _ = enrolled_user(session, settings)  # step of NOW - 30 s used by the enrolment
    totp = pyotp.TOTP(user.totp_secret)
    with clock.frozen_at(NOW):
        with pytest.raises(DomainError):  # the enrolment's code, replayed
            two_factor.verify(session, settings, user, totp.at(NOW - timedelta(seconds=30)))
        assert two_factor.verify(session, settings, user, totp.at(NOW)) == "totp"
        with pytest.raises(DomainError):  # the same code again: refused (RFC 6238, 5.2)
            two_factor.verify(session, settings, user, totp.at(NOW))
        assert two_factor.verify(session, settings, user, totp.at(NOW + timedelta(seconds=30)))
        with pytest.raises(DomainError):  # two steps ahead: outside the window
            two_factor.verify(session, settings, user, totp.at(NOW + timedelta(seconds=90)))


def test_wrong_codes_are_throttled_per_user(session, settings):
    user, _ = enrolled_user(session, settings)
    totp = pyotp.TOTP(user.totp_secret)
    with clock.frozen_at(NOW):
        for _ in range(settings.login_max_failures):
            with pytest.raises(DomainError) as wrong:
                two_factor.verify(session, settings, user, "123456")
            assert wrong.value.code == "invalid"
        with pytest.raises(DomainError) as throttled:  # even the right code, for a while
            two_factor.verify(session, settings, user, totp.at(NOW))
        assert throttled.value.code == "too_many_requests"
    with clock.frozen_at(NOW + timedelta(minutes=16)):
        later = NOW + timedelta(minutes=16)
        assert two_factor.verify(session, settings, user, totp.at(later)) == "totp"


def test_a_recovery_code_works_once(session, settings):
    user, codes = enrolled_user(session, settings)
    with clock.frozen_at(NOW):
        assert two_factor.verify(session, settings, user, codes[3].upper()) == "recovery"
        with pytest.raises(DomainError):
            two_factor.verify(session, settings, user, codes[3])
        assert two_factor.unused_recovery_codes(session, user) == 9
        fresh = two_factor.new_recovery_codes(session, user)
        session.flush()
        with pytest.raises(DomainError):  # the old ones stop working
            two_factor.verify(session, settings, user, codes[4])
        assert two_factor.verify(session, settings, user, fresh[0]) == "recovery"


def test_disabling_is_for_optional_roles_and_reset_ends_every_session(session, settings):
    user, _ = enrolled_user(session, settings)
    totp = pyotp.TOTP(user.totp_secret)
    with clock.frozen_at(NOW):
        two_factor.disable(session, settings, user, totp.at(NOW))
    assert not two_factor.enrolled(user) and user.totp_secret is None
    user.role = "ministry_analyst"
    user, _ = enrolled_user(session, settings)
    with clock.frozen_at(NOW), pytest.raises(DomainError) as refused:
        two_factor.disable(session, settings, user, "000000")
    assert refused.value.code == "forbidden"
    two_factor.reset(session, user)
    session.flush()
    assert not two_factor.enrolled(user) and user.session_version == 2
    assert session.scalars(select(RecoveryCode)).all() == []
    assert two_factor.in_force(user)  # mandatory: the next sign-in enrols again
