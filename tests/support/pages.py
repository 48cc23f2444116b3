"""Pages over a real service without RabbitMQ: the real ``GatewayApp`` (routes, form
pipeline, templates) whose RPC client runs the real service's entrypoints (nameko's
``worker_factory``) over an in-memory database, and a browser signed in as an actor.

What is left out is what other tests cover: the session look-up and CSRF token of a real
login (``tests/unit/test_security_csrf.py``, the integration tests), the bus itself.
"""

from __future__ import annotations

import re
from contextlib import nullcontext
from datetime import date

from nameko.testing.services import worker_factory
from werkzeug.test import Client

from gateway import auth
from rac_shared.actor import Actor
from rac_shared.clock import clock
from tests.support.gateway_app import gateway_app

SESSION_KEY = "cle-de-session-des-tests"


class ServiceRpc:
    """Stands in for the gateway's RPC client: each call is the service's own entrypoint
    (arguments validated and replies serialised by its contract, as over the bus), run in
    a worker over ``session``, committed when it returns, rolled back when it raises."""

    def __init__(self, service_cls, session, today: date | None = None):
        self.service_cls = service_cls
        self.session = session
        self.today = today
        self.calls: list[str] = []

    def call(self, service, method, correlation_id=None, timeout=None, raw=False, **kwargs):
        assert service == self.service_cls.name, service
        self.calls.append(method)
        worker = worker_factory(self.service_cls, db=self.session)
        self.session.commit()  # a worker's session starts with no transaction open
        try:
            with clock.frozen_at(self.today) if self.today else nullcontext():
                result = getattr(worker, method)(**kwargs)
            self.session.commit()
            return result
        except Exception:
            self.session.rollback()
            raise


class Browser:
    """Requests to the real app as ``actor`` (``None``: nobody signed in); ``post`` adds the
    form's CSRF token."""

    def __init__(self, rpc, actor: Actor | None = None):
        self.app = gateway_app(rpc)
        self.actor = actor
        self.app._audit = lambda ctx, status: None  # the audit log needs the gateway's database
        self.app._authenticate = self._authenticate
        self.client = Client(self.app)
        self.csrf = auth.csrf_token_for(self.app.settings, SESSION_KEY)

    def _authenticate(self, ctx, api: bool) -> None:
        ctx.actor, ctx.session_key = self.actor, SESSION_KEY
        ctx.unread_messages = 0  # the header's count (the inbox is not the subject here)

    def get(self, path: str):
        return Page(self.client.get(path))

    def post(self, path: str, data: dict | None = None, **kwargs):
        posted = {"csrf_token": self.csrf, **(data or {})}
        return Page(self.client.post(path, data=posted, **kwargs))


class Page:
    """A response, with its text as a reader sees it (non-breaking spaces as spaces); no
    text for a binary download (a PDF, a spreadsheet)."""

    def __init__(self, response):
        self.response = response
        self.status_code = response.status_code
        self.headers = response.headers
        binary = response.mimetype.startswith(("application/pdf", "application/vnd."))
        self.html = (
            ""
            if binary
            else response.get_data(as_text=True)
            .replace("\xa0", " ")
            .replace("\u202f", " ")
            .replace("&#39;", "'")
        )

    def fields(self, form_action: str) -> dict[str, str]:
        """The named fields of the form posting to ``form_action``, with their values (what a
        browser would post if nothing were typed)."""
        form = re.search(
            rf'<form method="post" action="{re.escape(form_action)}".*?</form>', self.html, re.S
        ).group(0)
        found = {}
        for tag in re.findall(r"<(?:input|textarea|select)\b[^>]*>", form):
            name = re.search(r'name="([^"]+)"', tag)
            if name is None or name.group(1) == "csrf_token":
                continue
            value = re.search(r'value="([^"]*)"', tag)
            found[name.group(1)] = value.group(1) if value else ""
        return found


def render(template: str, actor: Actor, path: str = "/", state=None, **context) -> str:
    """A template as the gateway renders it for ``actor`` on a request for ``path`` (its
    query string gives the notice, ``?fait=…``), with ``state`` as a refused form."""
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from gateway.web.framework import Ctx

    app = gateway_app(rpc=None)
    ctx = Ctx(app=app, request=Request(EnvironBuilder(path=path).get_environ()))
    ctx.actor, ctx.unread_messages, ctx.session_key, ctx.form_state = actor, 0, SESSION_KEY, state
    return app.templates.get_template(template).render(ctx=ctx, **context)
