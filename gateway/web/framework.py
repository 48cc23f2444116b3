"""Routing with declared access, request context, and error handling, in one place.

Every page and API route is declared with ``@route`` and says who may use it
(``access``: public, any signed-in user, or a set of roles). ``GatewayApp`` enforces it
before the handler runs; the authorization matrix test enumerates the same registry.
Tenant scoping (an institution sees only its own data) is enforced where the data lives:
the handler passes the ``Actor`` to the service, which filters by organisation.
"""

from __future__ import annotations

import itertools
import json
import logging
import re
import secrets
import typing
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from pydantic import BaseModel, ValidationError
from pydantic_core import to_jsonable_python
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from gateway import auth, directory, throttling
from gateway.clients import PROTOCOLS, typed_client
from gateway.read_models import InboxReadModel
from gateway.rpc_client import RawJson, RpcClient, RpcTimeout, RpcUnavailable
from gateway.session_cache import SessionCache
from gateway.web import boundary
from gateway.web.contents import with_contents
from gateway.web.forms import (
    FORM_KEY,
    FormState,
    decode,
    encode,
    errors_for_fields,
    label_of,
    submitted_values,
)
from rac_shared.actor import ROLE_LABELS, Actor, Role
from rac_shared.contracts.base import INVALID_HEADLINE, error_details, headline_for
from rac_shared.db import database_unavailable
from rac_shared.errors import DomainError
from rac_shared.logs import new_correlation_id, set_correlation_id
from rac_shared.settings import Settings

if TYPE_CHECKING:
    from rac_shared.contracts.applications import ApplicationsRpc
    from rac_shared.contracts.billing import BillingRpc
    from rac_shared.contracts.funding import FundingRpc
    from rac_shared.contracts.network import NetworkRpc
    from rac_shared.contracts.notifications import Inbox, NotificationsRpc
    from rac_shared.contracts.plans import PlansRpc
    from rac_shared.contracts.scoring import ScoringRpc

log = logging.getLogger("gateway.web")

PUBLIC = "public"
SIGNED_IN = "signed_in"
ALL_ROLES = frozenset(Role)
SESSION_COOKIE = "rac_session"
CSRF_COOKIE = "rac_csrf"
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}
FORM_MIME = "application/x-www-form-urlencoded"
# A form refused for these reasons is shown again, with what was typed (not an error page).
FORM_REFUSALS = frozenset({"invalid", "conflict", "unauthenticated", "too_many_requests"})

# Each error status: its code in the API's JSON error (a service's ``DomainError`` carries the
# same codes, so this table also gives its status), and the message people read.
STATUSES = {
    400: ("bad_request", "La requête est mal formée."),
    401: ("unauthenticated", "Vous devez vous connecter pour accéder à cette page."),
    403: ("forbidden", "Vous n'avez pas accès à cette ressource."),
    404: ("not_found", "La page demandée est introuvable."),
    405: ("method_not_allowed", "Cette méthode n'est pas permise pour cette adresse."),
    409: ("conflict", "L'opération entre en conflit avec l'état actuel."),
    413: ("too_large", "Le contenu envoyé est trop volumineux."),
    415: (
        "unsupported_media_type",
        "Le format du contenu envoyé n'est pas accepté (JSON attendu).",
    ),
    422: ("invalid", "Les données envoyées sont invalides."),
    429: ("too_many_requests", "Trop de tentatives. Réessayez plus tard."),
    500: ("internal", "Une erreur inattendue est survenue. L'équipe technique a été avisée."),
    503: (
        "unavailable",
        "Un service de la plateforme est momentanément indisponible. Réessayez dans un instant.",
    ),
    504: ("timeout", "Un service de la plateforme tarde à répondre. Réessayez dans un instant."),
}
# Every answer carries these; production's also HSTS, a page also its CSP and no caching.
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
HTTPS_HEADERS = {"Strict-Transport-Security": "max-age=31536000; includeSubDomains"}
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'",
    "Cache-Control": "no-store",
}
STATUS_MESSAGES = {status: message for status, (_, message) in STATUSES.items()}
ERROR_CODES = {status: code for status, (code, _) in STATUSES.items()}
STATUS_OF_CODE = {code: status for status, code in ERROR_CODES.items()}


class HttpError(Exception):
    def __init__(self, status: int, message: str | None = None, details: Any = None):
        super().__init__(message)
        self.status = status
        self.message = message or STATUS_MESSAGES.get(status, "Erreur.")
        self.details = details or {}


@dataclass(frozen=True)
class RouteSpec:
    path: str
    methods: tuple[str, ...]
    endpoint: str
    handler: Callable
    access: str | frozenset
    api: bool
    body: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    summary: str = ""
    tenant: bool = False  # the route addresses one organisation's data
    # A page form: the posted fields are decoded into this contract model, and a refusal
    # (invalid input, or the service's DomainError invalid/conflict) re-renders ``on_error``.
    form: type[BaseModel] | None = None
    on_error: Callable | None = None
    # A query string decoded into this contract model (``ctx.query``; 422 when invalid).
    query: type[BaseModel] | None = None
    # False only where a signed token in the URL is the whole authority and the caller is
    # not a browser form (the one-click unsubscribe POST of RFC 8058, sent by mail clients).
    csrf: bool = True
    # The statuses a success answers (the OpenAPI document lists each): 201 for a creation.
    statuses: tuple[int, ...] = (200,)
    # The file fields of an API upload (multipart/form-data, with ``form``'s fields).
    files: tuple[str, ...] = ()

    def allows(self, actor: Actor | None) -> bool:
        if self.access == PUBLIC:
            return True
        return actor is not None and (self.access == SIGNED_IN or actor.role in self.access)


REGISTRY: list[RouteSpec] = []

# The one flash mechanism: ``ctx.done(location, "emis")`` redirects to ``location?fait=emis``
# and the page shows the notice declared for that key (base template).
FLASH_PARAMETER = "fait"
NOTICES: dict[str, str] = {}


def notices(**messages: str) -> None:
    """Declare the notices an area's redirects may show, by key (unique platform-wide)."""
    for key, message in messages.items():
        if NOTICES.get(key, message) != message:
            raise ValueError(f"notice {key!r} declared twice with different messages")
        NOTICES[key] = message


def route(
    path: str,
    *,
    methods: Iterable[str] = ("GET",),
    access=SIGNED_IN,
    name: str | None = None,
    response: type[BaseModel] | None = None,
    summary: str = "",
    **options,
):
    """Declare a page or API route (``name``: its endpoint, the handler's name by default —
    a form's view declared as its page and as its ``on_error`` keeps the page's name). The
    other ``options`` are ``RouteSpec``'s fields, with its defaults.

    ``body=Model`` validates an API route's JSON body (422 with field details); ``form=Model``
    decodes a page's posted fields into the same kind of contract model (``gateway.web.forms``)
    and hands it to the handler as ``form``. When the input is invalid, or the handler's
    service refuses it (``DomainError`` invalid or conflict), the framework calls
    ``on_error(ctx, **url_args)`` — the view that shows the form — with ``ctx.form()``
    holding the submitted values and the errors, and answers 422 (409 for a conflict). On
    an API route (a multipart upload's fields) a refusal is the API's JSON error instead.
    ``query=Model`` decodes the query string the same way into ``ctx.query`` (an API route
    refuses a parameter its model does not declare). ``statuses`` are the success statuses
    an API route answers, ``files`` the file fields of its multipart body (for OpenAPI).
    ``response`` and ``summary`` default to the handler's return annotation and docstring.
    """
    if options.get("form") and not options.get("on_error") and not path.startswith("/api/"):
        raise ValueError(f"route {path}: a form route needs on_error (the view to re-render)")

    def decorator(handler: Callable) -> Callable:
        doc = (handler.__doc__ or "").strip()
        REGISTRY.append(
            RouteSpec(
                path=path,
                methods=tuple(methods),
                endpoint=name or handler.__name__,
                handler=handler,
                access=frozenset(access) if not isinstance(access, str) else access,
                api=path.startswith("/api/"),
                response=response or _reply_model(handler),
                summary=summary or " ".join(doc.split("\n\n")[0].split()),
                **options,
            )
        )
        return handler

    return decorator


def post(path: str, form: type[BaseModel], on_error: Callable | None = None, access=SIGNED_IN):
    """A form's POST route: ``form`` decoded from the posted fields, refusals re-rendered by
    ``on_error`` (see ``route``)."""
    return route(path, methods=("POST",), access=access, form=form, on_error=on_error)


def _reply_model(handler: Callable) -> type[BaseModel] | None:
    """The contract reply a JSON handler declares it returns (``-> CallView``): its
    response in the OpenAPI document. A page's ``-> Response`` is none."""
    returned = typing.get_type_hints(handler).get("return")
    return returned if isinstance(returned, type) and issubclass(returned, BaseModel) else None


@dataclass
class Ctx:
    """Everything a handler needs about the current request."""

    app: GatewayApp
    request: Request
    spec: RouteSpec | None = None
    user: directory.SessionUser | None = None
    actor: Actor | None = None
    session_key: str = ""
    correlation_id: str = ""
    body: BaseModel | None = None
    query: BaseModel | None = None  # the route's query model, decoded from the query string
    set_cookies: list[tuple[str, str, dict]] = field(default_factory=list)
    delete_cookies: list[str] = field(default_factory=list)
    unread_messages: int | None = None
    rpc_calls: dict[str, int] = field(default_factory=dict)  # per service, for X-RAC-RPC
    form_state: FormState | None = None  # a refused form, being shown again
    _clients: dict = field(default_factory=dict)

    def service(self, name: str):
        """The typed client of a service (``ctx.service("plans").issue(plan_id=…)``): its
        contract's ``Protocol``, arguments validated and replies parsed into its models."""
        client = self._clients.get(name)
        if client is None:
            client = self._clients[name] = typed_client(self, name)
        return client

    if TYPE_CHECKING:  # the typed clients as editors see them (``__getattr__`` gives them)
        applications: ClassVar[ApplicationsRpc]
        billing: ClassVar[BillingRpc]
        funding: ClassVar[FundingRpc]
        network: ClassVar[NetworkRpc]
        notifications: ClassVar[NotificationsRpc]
        plans: ClassVar[PlansRpc]
        scoring: ClassVar[ScoringRpc]

    def __getattr__(self, name: str):
        """``ctx.plans``, ``ctx.funding``…: ``ctx.service(name)`` for each client that
        ``gateway.clients.PROTOCOLS`` declares (``funding``: the billing service's
        FundingRpc, counted as billing)."""
        if name not in PROTOCOLS:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return self.service(name)

    def form(self, defaults=None, endpoint: str | None = None, key: str | None = None):
        """What a form shows: ``defaults`` (a model or flat values) on a first display,
        the submitted values and errors after a refusal of the form ``endpoint`` (the
        route's handler name; any form when None). A page showing the same form several
        times gives each a ``key`` (posted back in the hidden ``_form`` field)."""
        base = encode(defaults) if defaults else {}
        state = self.form_state
        if state is not None and state.applies_to(endpoint, key):
            return state.merged(base)
        model = type(defaults) if isinstance(defaults, BaseModel) else None
        return FormState(values=base, model=model, endpoint=endpoint, instance=key)

    def done(self, location: str, notice: str | None = None) -> Response:
        """Redirect after a successful POST, with the key of the notice to show there (the
        location's ``#fragment``, if any, stays last: ``/plans/3/modifier?fait=…#etapes``)."""
        if notice is not None:
            if notice not in NOTICES:
                raise KeyError(f"unknown notice {notice!r}: declare it with notices()")
            location, hash_, fragment = location.partition("#")  # the #part stays last
            separator = "&" if "?" in location else "?"
            location = f"{location}{separator}{FLASH_PARAMETER}={notice}{hash_}{fragment}"
        return self.redirect(location)

    @property
    def notice(self) -> str | None:
        """The notice a redirect after a POST asked this page to show."""
        return NOTICES.get(self.request.args.get(FLASH_PARAMETER, ""))

    @property
    def settings(self) -> Settings:
        return self.app.settings

    def db(self):
        """A session of the gateway's database (``with ctx.db() as session:`` closes it)."""
        return self.app.session_factory()

    def transaction(self):
        """``with ctx.transaction() as session:`` — committed at the end of the block,
        rolled back if it raises (a refusal changes nothing), then closed."""
        return self.app.session_factory.transaction()

    def rpc(self, service: str, method: str, **kwargs) -> Any:
        self.rpc_calls[service] = self.rpc_calls.get(service, 0) + 1
        return self._call(service, method, **kwargs)

    def _call(self, service: str, method: str, **kwargs) -> Any:
        if self.actor is not None and "actor" not in kwargs:
            kwargs["actor"] = self.actor.model_dump(mode="json")
        return self.app.rpc.call(service, method, correlation_id=self.correlation_id, **kwargs)

    def csrf_token(self) -> str:
        return auth.csrf_token_for(self.settings, self.session_key)

    def render(self, template: str, status: int = 200, **context) -> Response:
        if self.actor is not None and self.unread_messages is None:
            self.unread_messages = self._unread_count_if_known()
        html = self.app.templates.get_template(template).render(ctx=self, **context)
        return Response(html, status=status, mimetype="text/html")

    def inbox(self) -> Inbox:
        """The user's inbox, from the gateway's read model when it has a current copy."""
        return self.app.inbox.inbox(self.actor.user_id, self.notifications.inbox)

    def _unread_count_if_known(self) -> int | None:
        """The header's unread count: from the read model, never an RPC on this request."""
        inbox = self.app.inbox.cached(self.actor.user_id)
        if inbox is None:
            # Off the request's path: not counted among the page's RPCs.
            background = typed_client(self, "notifications", counted=False)
            self.app.inbox.warm(self.actor.user_id, background.inbox)
            return None
        return inbox.unread

    def redirect(self, location: str, status: int = 303) -> Response:
        return Response("", status=status, headers={"Location": location})

    def client_ip(self) -> str:
        """The client's address (a trusted proxy's header only: ``gateway.throttling``)."""
        return throttling.source_address(
            self.settings, self.request.remote_addr, self.request.headers
        )

    def can_open(self, path: str) -> bool:
        """Whether the user may open the page at ``path`` (for navigation links)."""
        spec = self.app.page_at(path)
        return spec is not None and spec.allows(self.actor)

    @property
    def is_ministry(self) -> bool:
        return self.actor is not None and self.actor.is_ministry


class GatewayApp:
    def __init__(self, settings: Settings, session_factory, rpc: RpcClient, templates):
        self.settings = settings
        self.session_factory = session_factory
        self.rpc = rpc
        self.templates = templates
        self.sessions = SessionCache(session_factory.engine)
        self.inbox = InboxReadModel(settings.amqp_uri)
        self._pages: dict[str, RouteSpec | None] = {}
        self.url_map = Map(
            [Rule(s.path, endpoint=i, methods=list(s.methods)) for i, s in enumerate(REGISTRY)],
            strict_slashes=False,
        )
        templates.globals["role_labels"] = ROLE_LABELS  # by Role, a StrEnum: its values too
        templates.globals["government_signature"] = settings.government_signature
        templates.filters["with_contents"] = with_contents
        # A fresh element id (also inside imported macros, which do not see ``ctx``): a
        # table's caption gets one, and the region that scrolls the table sideways on a
        # narrow screen is named by it (aria-labelledby).
        ids = itertools.count(1)
        templates.globals["next_id"] = lambda: f"tableau-{next(ids)}"

    def page_at(self, path: str) -> RouteSpec | None:
        """The GET route serving ``path``; remembered, as the navigation asks on every page."""
        if path not in self._pages:
            try:
                index, _ = self.url_map.bind("localhost").match(path, method="GET")
                self._pages[path] = REGISTRY[index]
            except HTTPException:
                self._pages[path] = None
        return self._pages[path]

    def __call__(self, environ, start_response):
        request = Request(environ)
        request.max_content_length = self.settings.max_body_bytes
        request.max_form_memory_size = self.settings.max_body_bytes
        ctx = Ctx(
            app=self,
            request=request,
            correlation_id=request.headers.get("X-Correlation-Id", "")[:64] or new_correlation_id(),
        )
        set_correlation_id(ctx.correlation_id)
        try:
            response = self._dispatch(ctx)
        except Exception as exc:  # the last line of defence: never a stack trace
            response = self._error_response(ctx, exc)
        self._after(ctx, response)
        set_correlation_id(None)
        return response(environ, start_response)

    # -- pipeline --------------------------------------------------------------------

    def _dispatch(self, ctx: Ctx) -> Response:
        adapter = self.url_map.bind_to_environ(ctx.request.environ)
        try:
            index, url_args = adapter.match()
        except NotFound as exc:
            self._authenticate(ctx, api=ctx.request.path.startswith("/api/"))
            raise HttpError(404) from exc
        except MethodNotAllowed as exc:
            raise HttpError(405) from exc
        except HTTPException as exc:  # redirects for slashes and the like
            return exc.get_response(ctx.request.environ)
        ctx.spec = spec = REGISTRY[index]
        self._authenticate(ctx, api=spec.api)
        if not spec.allows(ctx.actor):
            if ctx.actor is None:
                if spec.api:
                    raise HttpError(401)
                return ctx.redirect(f"/connexion?suite={ctx.request.full_path.rstrip('?')}")
            raise HttpError(403)
        if ctx.request.method in STATE_CHANGING and not spec.api and spec.csrf:
            self._check_csrf(ctx)
        self._refuse_control_characters(ctx, spec)
        if spec.body is not None:
            ctx.body = self._parse_body(ctx, spec.body)
        if spec.api:
            _refuse_unknown_parameters(ctx.request.args, spec.query)
        if spec.query is not None:
            ctx.query = self._parse_query(ctx, spec.query)
        if spec.form is not None and not spec.api:
            return self._handle_form(ctx, spec, url_args)
        if spec.form is not None:  # the fields of an API upload (multipart/form-data)
            url_args = {**url_args, "form": self._parse_form(ctx, spec.form)}
        result = spec.handler(ctx, **url_args)  # a page's response, or JSON (and its status)
        if isinstance(result, Response):
            return result
        return json_response(*result) if isinstance(result, tuple) else json_response(result)

    def _handle_form(self, ctx: Ctx, spec: RouteSpec, url_args: dict) -> Response:
        """Decode and validate the posted form, run the handler, re-render on a refusal."""
        try:
            data = self._parse_form(ctx, spec.form, INVALID_HEADLINE)
        except HttpError as exc:
            return self._refused(ctx, spec, url_args, exc)
        try:
            return spec.handler(ctx, form=data, **url_args)
        except DomainError as exc:
            if exc.code not in FORM_REFUSALS:
                raise
            return self._refused(ctx, spec, url_args, exc)

    def _refused(self, ctx, spec, url_args, exc: Exception) -> Response:
        status, message, details = _classify(exc)
        ctx.form_state = FormState(
            values=submitted_values(ctx.request.form),
            errors=errors_for_fields(details),
            message=message,
            model=spec.form,
            endpoint=spec.endpoint,
            instance=ctx.request.form.get(FORM_KEY) or None,
        )
        log.info(  # the fields' names, never what was typed nor a message that may quote it
            "%s %s refused (%s): %s",
            ctx.request.method,
            loggable_path(ctx.request.path),
            status,
            ", ".join(ctx.form_state.errors) or "-",
        )
        response = spec.on_error(ctx, **url_args)
        response.status_code = status
        return response

    def _authenticate(self, ctx: Ctx, api: bool) -> None:
        """The user of the API's Bearer token or of the page's session cookie. A token that
        is invalid, or whose session is revoked, is a 401 on the API; a page drops the cookie
        and goes on signed out (with a CSRF key of its own)."""
        if api:
            header = ctx.request.headers.get("Authorization", "")
            token = header[7:].strip() if header.startswith("Bearer ") else None
        else:
            token = ctx.request.cookies.get(SESSION_COOKIE)
        refusal = self._sign_in(ctx, token) if token else None
        if refusal is not None and api:
            raise HttpError(401, refusal)
        if refusal is not None:
            ctx.delete_cookies.append(SESSION_COOKIE)
        if not api and not ctx.session_key:
            ctx.session_key = ctx.request.cookies.get(CSRF_COOKIE) or ""
            if not ctx.session_key:
                ctx.session_key = secrets.token_urlsafe(24)
                ctx.set_cookies.append((CSRF_COOKIE, ctx.session_key, {"samesite": "Strict"}))

    def _sign_in(self, ctx: Ctx, token: str) -> str | None:
        """Sets the request's user from ``token``; else says why not."""
        try:
            claims = auth.decode_token(self.settings, token)
        except auth.InvalidToken:
            return "Jeton d'accès invalide ou expiré."
        user = directory.session_user_from_row(self._session_row(claims.user_id), claims)
        if user is None:
            return "Session révoquée ou compte désactivé."
        ctx.user, ctx.actor, ctx.session_key = user, user.actor(), claims.token_id
        return None

    def _session_row(self, user_id: int):
        def load():
            with self.session_factory() as session:
                return directory.fetch_session_row(session, user_id)

        return self.sessions.row(user_id, load)

    def _check_csrf(self, ctx: Ctx) -> None:
        submitted = ctx.request.form.get("csrf_token")
        if not auth.csrf_matches(self.settings, ctx.session_key, submitted):
            raise HttpError(
                403,
                "Le formulaire a expiré ou ne provient pas de la plateforme. "
                "Rechargez la page et réessayez.",
            )

    def _refuse_control_characters(self, ctx: Ctx, spec: RouteSpec) -> None:
        """422 for a query string, or the posted fields of a route that has no form model,
        holding a control character (a form route's fields: ``_parse_form``)."""
        _refuse_controls(
            boundary.fields_with_controls(ctx.request.args.items(multi=True)), "paramètre"
        )
        posts_fields = ctx.request.mimetype in (FORM_MIME, "multipart/form-data")
        if ctx.request.method in STATE_CHANGING and spec.form is None and posts_fields:
            _refuse_controls(boundary.fields_with_controls(ctx.request.form.items(multi=True)))

    def _parse_body(self, ctx: Ctx, model: type[BaseModel]) -> BaseModel:
        if ctx.request.mimetype != "application/json":
            raise HttpError(415)
        raw = ctx.request.get_data(cache=True) or b"null"
        if boundary.too_deep(raw):
            raise HttpError(400, boundary.TOO_DEEP_MESSAGE)
        try:
            data = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as exc:
            raise HttpError(400, "Le corps de la requête n'est pas du JSON valide.") from exc
        _refuse_controls(list(boundary.json_paths_with_controls(data)), model=model)
        return _validated(model, data, STATUS_MESSAGES[422])

    def _parse_form(self, ctx: Ctx, model: type[BaseModel], headline: str | None = None):
        """The posted fields as ``model``; 422 (``headline``, details by field) when a field
        holds a control character or the model refuses them."""
        _refuse_controls(
            boundary.fields_with_controls(ctx.request.form.items(multi=True)), model=model
        )
        return _validated(model, decode(ctx.request.form, model), STATUS_MESSAGES[422], headline)

    def _parse_query(self, ctx: Ctx, model: type[BaseModel]) -> BaseModel:
        """The query string as ``model``; 422 with a message per parameter when a value is
        invalid (parameters it does not declare: ``_refuse_unknown_parameters``)."""
        return _validated(
            model, decode(ctx.request.args, model), "Les critères de la recherche sont invalides."
        )

    def _after(self, ctx: Ctx, response: Response) -> None:
        secure = self.settings.rac_env == "production"
        for name, value, options in ctx.set_cookies:
            response.set_cookie(
                name,
                value,
                httponly=True,
                secure=secure,
                path="/",
                **{"samesite": "Lax", **options},
            )
        for name in ctx.delete_cookies:
            response.delete_cookie(name, path="/")
        response.headers.setdefault("X-Correlation-Id", ctx.correlation_id)
        if ctx.rpc_calls and self.settings.rac_env != "production":
            # Lets the tests check that no page asks a service more than once.
            response.headers["X-RAC-RPC"] = ", ".join(
                f"{service}={count}" for service, count in sorted(ctx.rpc_calls.items())
            )
        headers = {
            **SECURITY_HEADERS,
            **(HTTPS_HEADERS if secure else {}),  # production is served over HTTPS only
            **(PAGE_HEADERS if response.mimetype == "text/html" else {}),
        }
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        if ctx.request.method in STATE_CHANGING and ctx.request.path not in ("/healthz",):
            self._audit(ctx, response.status_code)
            # Read your own writes (a logout, a password change) in this process at once;
            # the others drop their copies when PostgreSQL's notice reaches them.
            self.sessions.invalidate()

    def _audit(self, ctx: Ctx, status: int) -> None:
        with self.session_factory() as session:  # closing it rolls back a failed write
            try:
                directory.record_audit(
                    session,
                    actor=ctx.actor,
                    method=ctx.request.method,
                    path=loggable_path(ctx.request.path),
                    action=ctx.spec.endpoint if ctx.spec else "unknown",
                    status=status,
                    ip=ctx.client_ip(),
                    correlation_id=ctx.correlation_id,
                )
                session.commit()
            except Exception:
                log.exception("could not write the audit log")

    # -- errors ----------------------------------------------------------------------

    def _error_response(self, ctx: Ctx, exc: Exception) -> Response:
        status, message, details = _classify(exc)
        if status >= 500 and status not in (503, 504):
            log.exception(
                "unhandled error on %s %s",
                ctx.request.method,
                loggable_path(ctx.request.path),
                exc_info=exc,
            )
        else:  # a refusal, or load shed (503/504: an operator's signal, not a defect)
            log.log(
                logging.WARNING if status >= 500 else logging.INFO,
                "%s %s → %s",
                ctx.request.method,
                loggable_path(ctx.request.path),
                status,
            )
        api = ctx.spec.api if ctx.spec else ctx.request.path.startswith("/api/")
        if api:
            error = {
                "code": ERROR_CODES.get(status, "error"),
                "message": message,
                "details": details,
            }
            return _retry_after(json_response({"error": error}, status), exc, status)
        try:
            response = ctx.render(
                "error.html.j2", status=status, status_code=status, message=message, details=details
            )
        except Exception:
            log.exception("could not render the error page")
            response = Response(message, status=status, mimetype="text/plain")
        return _retry_after(response, exc, status)


UNAVAILABLE_RETRY_AFTER = 5  # seconds: a service restarting, the broker coming back


def _retry_after(response: Response, exc: Exception, status: int) -> Response:
    """When to come back: a throttled login's wait, an overloaded service's (load shed),
    a few seconds for any other 503."""
    wait = getattr(exc, "retry_after", None) or (UNAVAILABLE_RETRY_AFTER if status == 503 else None)
    if wait:
        response.headers["Retry-After"] = str(wait)
    return response


# Secrets that some URLs carry (a password-reset or unsubscribe link's token): masked in logs
# and the audit.
SECRET_IN_PATH = re.compile(
    r"(/mot-de-passe/reinitialiser/|/desabonnement/|/calendrier/flux/)[^/?#]+"
)


def loggable_path(path: str) -> str:
    """``path`` as logs and the audit log may keep it."""
    return SECRET_IN_PATH.sub(r"\1[masqué]", path)


def _refuse_unknown_parameters(args, model: type[BaseModel] | None) -> None:
    """422 for an API route's query parameter that its query ``model`` (if any) does not
    declare: a misspelt or unsupported filter must not be silently ignored (a page ignores
    them: its URL also carries its notice)."""
    known = {info.alias or name for name, info in model.model_fields.items()} if model else ()
    unknown = [name for name in args if name not in known]
    if unknown:
        raise HttpError(
            422,
            f"Le paramètre « {unknown[0]} » n'est pas reconnu par cette opération.",
            {name: "Paramètre inconnu." for name in unknown},
        )


def _refuse_controls(names: list[str], noun: str = "champ", model=None) -> None:
    """422 naming the first of the fields (query parameters, JSON paths) ``names`` that hold
    a control character (by its French title when ``model`` has one), each in the details."""
    if names:
        label = label_of(model, names[0]) or names[0]
        raise HttpError(
            422,
            f"Le {noun} « {label} » contient un caractère de contrôle non permis.",
            {name: boundary.CONTROL_MESSAGE for name in names},
        )


def _validated(model: type[BaseModel], data, default: str, headline: str | None = None):
    """``data`` as ``model``, or 422 with a message per field under ``headline`` (a page
    form's « Certains champs sont à corriger. »), else the model's own refusal headline or
    ``default``."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        details = error_details(exc, model=model)
        raise HttpError(422, headline or headline_for(model, details, default), details) from None


def _classify(exc: Exception) -> tuple[int, str, Any]:
    """(status, message, details) of any error: the one place that decides what a refusal,
    an unavailable service or a bug answers."""
    if isinstance(exc, HttpError):
        return exc.status, exc.message, exc.details
    if isinstance(exc, DomainError):
        return STATUS_OF_CODE.get(exc.code, 400), exc.message, exc.details
    if isinstance(exc, RpcUnavailable) or database_unavailable(exc):  # load shed
        status = 503
    elif isinstance(exc, RpcTimeout):
        status = 504
    elif isinstance(exc, HTTPException) and exc.code and exc.code < 500:  # 413 too
        status = exc.code
    else:  # a bug, or a service's (RpcRemoteError)
        status = 500
    return status, STATUS_MESSAGES.get(status, "Requête refusée."), {}


def raw_json_response(payload: Any, status: int = 200, wrap: str | None = None) -> Response:
    """JSON of a reply that is JSON already (a service's serialised reply): its text as the
    service sent it (``RawJson``), else encoded here; ``wrap``: under that one key."""
    text = payload if isinstance(payload, RawJson) else json.dumps(payload, ensure_ascii=False)
    if wrap is not None:
        text = f"{{{json.dumps(wrap)}: {text}}}"
    return Response(text, status=status, mimetype="application/json")


def json_response(payload: Any, status: int = 200) -> Response:
    """JSON of a reply: contract models as their JSON form (dates ISO, Decimals text)."""
    return Response(
        json.dumps(to_jsonable_python(payload), ensure_ascii=False, default=str),
        status=status,
        mimetype="application/json",
    )
