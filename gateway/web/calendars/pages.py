"""Calendars (RFC 5545): what people keep in their own calendar application.

- ``/calendrier``: the user's dates to come, gathered from the services that keep them
  (applications: calls' deposit deadlines and CERAC reports due; plans: acceptance deadlines
  and candidate-workers' evaluation periods; billing: installments due), one RPC each, at
  once; the same as an ``.ics`` download; and the personal feed's address.
- The feed (``/calendrier/flux/<token>.ics``) is fetched by calendar applications without a
  session: its signed token names the user and the feed's generation, checked against the
  user's feed row, so revoking it (or making a new address) stops every copy of the old one.
  A service that does not answer makes the feed answer 503, never a calendar with dates
  missing (which an application would take as deleted).
- A plan's calendar (optionally one candidate-worker's) and a call's deposit deadline, as
  downloads from their pages.
"""

from __future__ import annotations

from functools import partial
from urllib.parse import urlencode

from pydantic import Field
from werkzeug.wrappers import Response

from gateway import auth, calendar_feeds, directory
from gateway.models import User
from gateway.web import responses
from gateway.web.forms import NoFields
from gateway.web.framework import PUBLIC, SIGNED_IN, Ctx, HttpError, notices, post, route
from gateway.web.passthrough import Confirm, confirmation_step
from rac_shared.actor import EMPLOYER_ROLES, INSTITUTION_ROLES, MINISTRY_ROLES
from rac_shared.clock import clock
from rac_shared.contracts.base import Strict
from rac_shared.contracts.calendar import CalendarEvent, CalendarQuery, key, window
from rac_shared.ical import MIME, calendar_file

# The services that keep dates, and what each one's part of a calendar is called.
SOURCES = {
    "applications": "Appels d'intérêt et redditions de comptes",
    "plans": "Plans de mise en œuvre",
    "billing": "Versements",
}
PLAN_PARTIES = INSTITUTION_ROLES | EMPLOYER_ROLES
CALL_AREA = MINISTRY_ROLES | INSTITUTION_ROLES
INVALID_FEED = "Cette adresse d'abonnement n'existe pas ou a été révoquée."

notices(
    **{
        "flux-calendrier": "Votre adresse d'abonnement est prête. Toute adresse donnée "
        "auparavant ne fonctionne plus.",
        "flux-calendrier-revoque": "Votre adresse d'abonnement est révoquée : les "
        "applications abonnées ne reçoivent plus vos échéances.",
    }
)


def gather(ctx: Ctx, query: CalendarQuery | None = None) -> tuple[list[CalendarEvent], list[str]]:
    """Every service's dates for the actor (in ``query``'s window, if any), one RPC each, at
    once, in calendar order; the labels of the services that did not answer."""
    query = query or CalendarQuery()
    calls = {name: partial(ctx.service(name).calendar, query=query) for name in SOURCES}
    results = ctx.app.rpc.parallel(calls)
    events, unavailable = [], []
    for name, result in results.items():
        if isinstance(result, Exception):
            unavailable.append(SOURCES[name])
        else:
            events.extend(result)
    return window(events, query), unavailable


class CalendarPage(Strict):
    """``/calendrier?apres=…``: the dates to come, a page at a time (``apres``: the last date
    of the page before, ``CalendarQuery.after``)."""

    apres: str | None = Field(None, max_length=400, title="Après l'échéance")


PAGE_SIZE = 100  # dates on a page (an institution with 5 000 running plans has thousands)


@route("/calendrier", access=SIGNED_IN, query=CalendarPage)
def calendar_page(ctx: Ctx) -> Response:
    # One more than a page from each service: whether there is a next page.
    query = CalendarQuery(since=clock.today(), after=ctx.query.apres, limit=PAGE_SIZE + 1)
    events, unavailable = gather(ctx, query)
    more = len(events) > PAGE_SIZE
    events = events[:PAGE_SIZE]
    with ctx.db() as session:
        feed = calendar_feeds.live(session, ctx.actor.user_id)
        url = feed and auth.calendar_feed_url(ctx.settings, feed.user_id, feed.generation)
    return ctx.render(
        "calendars/calendar.html.j2",
        events=events,
        next_url=f"/calendrier?{urlencode({'apres': key(events[-1])})}" if more else None,
        first_url="/calendrier" if ctx.query.apres else None,
        unavailable=unavailable,
        feed_url=url,
        webcal_url=url and "webcal://" + url.split("://", 1)[1],
        form=ctx.form(),
    )


@route("/calendrier.ics", access=SIGNED_IN)
def calendar_download(ctx: Ctx) -> Response:
    """The actor's dates from every service, as one file (the feed's too); 503 when a
    service did not answer (a calendar with dates missing would be read as their deletion)."""
    events, unavailable = gather(ctx)
    if unavailable:
        raise HttpError(503)
    return _ics(ctx, f"Plateforme RAC — {ctx.actor.full_name}", events, "calendrier-rac.ics")


@post("/calendrier/abonnement", NoFields, calendar_page, SIGNED_IN)
def new_feed(ctx: Ctx, form: NoFields) -> Response:
    """A new address: the first one, or one replacing the address given out before."""
    with ctx.transaction() as session:
        calendar_feeds.renew(session, ctx.actor.user_id)
    return ctx.done("/calendrier#abonnement", "flux-calendrier")


confirmation_step(
    "/calendrier/abonnement/revoquer",
    SIGNED_IN,
    "revoke_feed",
    Confirm(
        "Révoquer votre adresse d'abonnement?",
        "L'adresse cessera aussitôt de fonctionner : les applications de calendrier qui y "
        "sont abonnées ne recevront plus vos échéances. Vous pourrez en créer une nouvelle "
        "ensuite.",
        "Révoquer l'adresse",
    ),
    "/calendrier#abonnement",
)


@post("/calendrier/abonnement/revoquer", NoFields, calendar_page, SIGNED_IN)
def revoke_feed(ctx: Ctx, form: NoFields) -> Response:
    with ctx.transaction() as session:
        calendar_feeds.revoke(session, ctx.actor.user_id)
    return ctx.done("/calendrier#abonnement", "flux-calendrier-revoque")


@route("/calendrier/flux/<token>.ics", access=PUBLIC)
def calendar_feed(ctx: Ctx, token: str) -> Response:
    """What a calendar application subscribed to the address receives (no session)."""
    try:
        user_id, generation = auth.read_calendar_feed_token(ctx.settings, token)
    except auth.InvalidToken:
        raise HttpError(404, INVALID_FEED) from None
    with ctx.db() as session:
        feed = calendar_feeds.live(session, user_id)
        user = session.get(User, user_id)
        if feed is None or feed.generation != generation or user is None or not user.active:
            raise HttpError(404, INVALID_FEED)
        ctx.actor = directory.actor_for(user)
    response = calendar_download(ctx)
    response.headers["Content-Disposition"] = "inline"
    return response


@route("/plans/<int:plan_id>/calendrier.ics", access=PLAN_PARTIES, query=CalendarQuery)
def plan_calendar(ctx: Ctx, plan_id: int) -> Response:
    """The plan's acceptance deadline and candidate-workers' evaluation periods
    (``?candidat=N``: that person's periods only)."""
    query = CalendarQuery(plan_id=plan_id, candidate_id=ctx.query.candidate_id)
    events = ctx.plans.calendar(query=query)
    suffix = f"-personne-{query.candidate_id}" if query.candidate_id else ""
    return _ics(ctx, "Plan de mise en œuvre", events, f"calendrier-plan-{plan_id}{suffix}.ics")


@route("/appels/<int:call_id>/calendrier.ics", access=CALL_AREA)
def call_calendar(ctx: Ctx, call_id: int) -> Response:
    events = ctx.applications.calendar(query=CalendarQuery(call_id=call_id))
    return _ics(ctx, "Appel d'intérêt", events, f"appel-{call_id}-echeance.ics")


def _ics(ctx: Ctx, name: str, events: list[CalendarEvent], filename: str) -> Response:
    content = calendar_file(name, events, ctx.settings.public_url)
    return responses.download(ctx, content, filename, MIME)  # werkzeug adds charset=utf-8
