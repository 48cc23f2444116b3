"""Expected access to the calendar routes, for the authorization matrix.

Everyone signed in has a calendar (its content is scoped by each service) and may make or
revoke their feed's address; the feed itself is public, its signed token the authority (a
bogus one is 404 for everyone). A plan's calendar is its parties', a call's its area's: a
missing one answers 404 from its service.
"""

from __future__ import annotations

from rac_shared.actor import EMPLOYER_ROLES, INSTITUTION_ROLES, MINISTRY_ROLES, Role

EVERYONE = frozenset(Role)
PARTIES = INSTITUTION_ROLES | EMPLOYER_ROLES
CALL_AREA = MINISTRY_ROLES | INSTITUTION_ROLES


def calendars_rows(row_cls, outcome_cls) -> dict:
    return {
        ("calendar_page", "GET"): row_cls("/calendrier", allowed=EVERYONE),
        ("calendar_download", "GET"): row_cls("/calendrier.ics", allowed=EVERYONE),
        ("new_feed", "POST"): row_cls(
            "/calendrier/abonnement",
            allowed=EVERYONE,
            granted=outcome_cls(303, "/calendrier?fait=flux-calendrier#abonnement"),
        ),
        ("revoke_feed", "POST"): row_cls(
            "/calendrier/abonnement/revoquer",
            allowed=EVERYONE,
            granted=outcome_cls(303, "/calendrier?fait=flux-calendrier-revoque#abonnement"),
        ),
        # The revocation's confirmation step: it only says what will happen.
        ("revoke_feed_confirm", "GET"): row_cls(
            "/calendrier/abonnement/revoquer", allowed=EVERYONE
        ),
        ("calendar_feed", "GET"): row_cls(
            "/calendrier/flux/{token}.ics",
            granted=outcome_cls(404),
            anonymous=outcome_cls(404),
        ),
        ("plan_calendar", "GET"): row_cls(
            "/plans/{missing}/calendrier.ics", allowed=PARTIES, granted=outcome_cls(404)
        ),
        ("call_calendar", "GET"): row_cls(
            "/appels/{missing}/calendrier.ics", allowed=CALL_AREA, granted=outcome_cls(404)
        ),
    }
