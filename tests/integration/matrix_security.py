"""Expected access to the second factor's pages and API, for the authorization matrix
(``test_authorization_matrix.py`` merges these rows).

The matrix's ministry users are enrolled (the demo's secrets); the others are not. The
second step's pages answer only to a pending sign-in (the cookie of a passed password
step): anyone else is sent back to ``/connexion`` (or home, when signed in). A wrong code
is refused (422), and what does not apply to the user is a conflict (409) or, turning off
a second factor that is mandatory, 403. Only the ministry's administrator resets someone's
second factor (a user that does not exist: 404).
"""

from __future__ import annotations

from rac_shared.actor import Role

WRONG = {"code": "000000"}


def security_rows(row_cls, outcome_cls) -> dict:
    to_login = outcome_cls(303, "/connexion")
    to_account = outcome_cls(303, "/compte/securite")
    return {
        ("second_step_form", "GET"): row_cls(
            "/connexion/verification", granted=outcome_cls(303, "/"), anonymous=to_login
        ),
        ("second_step", "POST"): row_cls(
            "/connexion/verification", granted=to_login, anonymous=to_login, form=WRONG
        ),
        ("enrolment_form", "GET"): row_cls(
            "/connexion/activation", ministry_granted=to_account, anonymous=to_login
        ),
        ("enrol", "POST"): row_cls(
            "/connexion/activation",
            granted=outcome_cls(422),
            ministry_granted=to_account,
            anonymous=to_login,
            form=WRONG,
        ),
        ("account_security", "GET"): row_cls("/compte/securite"),
        ("regenerate_recovery_codes", "POST"): row_cls(
            "/compte/securite/codes",
            granted=outcome_cls(409),
            ministry_granted=outcome_cls(422),
            form=WRONG,
        ),
        ("disable_second_factor", "POST"): row_cls(
            "/compte/securite/desactiver",
            granted=outcome_cls(409),
            ministry_granted=outcome_cls(403),
            form=WRONG,
        ),
        ("reset_second_factor", "POST"): row_cls(
            "/utilisateurs/{missing}/double-authentification/reinitialiser",
            allowed=frozenset({Role.MINISTRY_ADMIN}),
            granted=outcome_cls(404),
        ),
        ("api_second_factor", "POST"): row_cls(
            "/api/auth/second-factor",
            granted=outcome_cls(401),
            anonymous=outcome_cls(401),
            json_body={"challenge_token": "jeton-inexistant", "code": "000000"},
        ),
        ("api_reset_second_factor", "POST"): row_cls(
            "/api/users/{missing}/second-factor/reset",
            allowed=frozenset({Role.MINISTRY_ADMIN}),
            granted=outcome_cls(404),
        ),
    }
