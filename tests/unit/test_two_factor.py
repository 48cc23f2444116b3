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


# -- the secret sealed at rest ------------------------------------------------------------


def test_the_secret_is_sealed_in_the_database_and_opened_for_the_code(session, settings):
    """What the table holds is not the base32 secret, yet codes are checked against it."""
    from sqlalchemy import text

    from gateway.secret_box import is_sealed

    user, _ = enrolled_user(session, settings)
    secret = user.totp_secret
    stored = session.execute(text("SELECT totp_secret FROM users WHERE id = 1")).scalar_one()
    assert is_sealed(stored) and secret not in stored
    session.expire_all()
    assert session.get(User, 1).totp_secret == secret


def test_sealing_uses_a_fresh_nonce_and_refuses_a_wrong_key_or_an_altered_value():
    from gateway.secret_box import UnreadableSecret, open_sealed, seal

    current = Settings(two_factor_key="k" * 40, two_factor_key_id="t2")
    first, second = seal("JBSWY3DPEHPK3PXP", current), seal("JBSWY3DPEHPK3PXP", current)
    assert first != second and first.startswith("v1.t2.")
    assert open_sealed(first, current) == "JBSWY3DPEHPK3PXP"
    with pytest.raises(UnreadableSecret):
        open_sealed(first, Settings(two_factor_key="x" * 40, two_factor_key_id="t2"))
    altered = first[:-4] + ("AAAA" if not first.endswith("AAAA") else "BBBB")
    with pytest.raises(UnreadableSecret):
        open_sealed(altered, current)


def test_a_rotated_key_still_opens_what_the_previous_one_sealed():
    from gateway.secret_box import open_sealed, seal

    old = Settings(two_factor_key="o" * 40, two_factor_key_id="t1")
    sealed_before = seal("JBSWY3DPEHPK3PXP", old)
    rotated = Settings(
        two_factor_key="n" * 40, two_factor_key_id="t2", two_factor_previous_keys="t1=" + "o" * 40
    )
    assert open_sealed(sealed_before, rotated) == "JBSWY3DPEHPK3PXP"
    assert seal("JBSWY3DPEHPK3PXP", rotated).startswith("v1.t2.")


def test_production_refuses_the_demo_two_factor_key():
    from rac_shared.settings import InsecureSettings

    production = {"rac_env": "production", "jwt_secret": "j" * 40}
    with pytest.raises(InsecureSettings, match="TWO_FACTOR_KEY"):
        Settings(**production).check_production_safety()
    with pytest.raises(InsecureSettings) as refused:  # other problems, not this one
        Settings(**production, two_factor_key="p" * 40).check_production_safety()
    assert "TWO_FACTOR_KEY" not in str(refused.value)


def test_the_migration_seals_the_secrets_stored_in_clear_and_the_downgrade_opens_them(tmp_path):
    """gate0009 on a database of gate0008 holding a clear secret (SQLite, Alembic itself)."""
    from alembic import command
    from sqlalchemy import text

    from gateway.secret_box import is_sealed, open_sealed
    from rac import registry
    from rac_shared.migrations import alembic_config

    url = f"sqlite:///{tmp_path / 'gateway.db'}"
    config = alembic_config("gateway", registry.service("gateway").migrations, url)
    command.upgrade(config, "gate0008")
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO organisations (id, kind, name, code) "
                "VALUES (1, 'cegep', 'Cégep de Lévis', 'CLV')"
            )
        )
        connection.execute(
            text(
                "INSERT INTO users (id, email, full_name, role, organisation_id, password_hash, "
                "active, session_version, created_at, totp_secret) VALUES (1, 'a@b.quebec', "
                "'Sophie Bélanger', 'ministry_analyst', 1, 'x', 1, 1, '2026-12-07', "
                "'JBSWY3DPEHPK3PXP')"
            )
        )
    read = text("SELECT totp_secret FROM users WHERE id = 1")

    command.upgrade(config, "gate0009")
    with engine.connect() as connection:
        sealed = connection.execute(read).scalar_one()
    assert is_sealed(sealed) and open_sealed(sealed) == "JBSWY3DPEHPK3PXP"

    command.downgrade(config, "gate0008")
    with engine.connect() as connection:
        assert connection.execute(read).scalar_one() == "JBSWY3DPEHPK3PXP"
    engine.dispose()
