"""What each kind of user can do next: the static part per role, the rest from services."""

from __future__ import annotations

from functools import partial

from rac_shared.actor import Actor
from rac_shared.contracts import NextAction

HOME_SERVICES = ("applications", "scoring", "plans", "billing", "notifications")

SERVICE_LABELS = {
    "applications": "Appels d'intérêt et demandes de reconnaissance",
    "scoring": "Évaluation et désignation des CERAC",
    "plans": "Plans de mise en œuvre",
    "billing": "Estimations et facturation",
    "notifications": "Messages",
}


def role_actions(actor: Actor) -> list[dict]:
    """Links that are always offered to a role, whatever the state of the data."""
    if actor.is_ministry:
        label, url = "Consulter les établissements et organisations du réseau", "/organisations"
    else:
        label = "Consulter la fiche de votre organisation"
        url = f"/organisations/{actor.organisation_id}"
    return [{"label": label, "url": url}, {"label": "Consulter vos messages", "url": "/messages"}]


def gather_next_actions(ctx) -> tuple[list[NextAction], list[str]]:
    """One RPC per service, in parallel; a service that is down is named, not fatal."""
    wait = ctx.settings.home_summary_timeout
    calls = {name: partial(ctx.service(name).home_summary, _timeout=wait) for name in HOME_SERVICES}
    results = ctx.app.rpc.parallel(calls)
    actions, unavailable = [], []
    for name in HOME_SERVICES:
        result = results[name]
        if isinstance(result, Exception):
            unavailable.append(SERVICE_LABELS[name])
        else:
            actions.extend(result)
            if name == "notifications":
                ctx.unread_messages = sum(a.count or 0 for a in result)
    return actions, unavailable
