"""API routes that only pass a request on to a service, declared as a table.

Most of the JSON API is one RPC per operation: the URL's ids and the body become the RPC's
arguments, its reply is the answer. Such an operation is one ``Api`` row; its body model is
the contract's ``data`` argument, its query parameters the contract's ``query`` argument (a
model) or, with ``params``, its keyword arguments (the fields of that query model), its
response model the contract's reply, so the API, the service and the OpenAPI document
cannot disagree. A page's download of a service's document is a ``Download`` row, the same
pass-through answering a file. Anything more (several services, a page) is an ordinary
``@route``.

A page form that is one RPC followed by a redirect with a notice is likewise one ``Post``
row of ``page_actions``.
"""

from __future__ import annotations

import inspect
import typing
from dataclasses import dataclass

from pydantic import BaseModel, RootModel, create_model

from gateway.clients import protocol_methods, protocol_of
from gateway.web import responses
from gateway.web.forms import NoFields
from gateway.web.framework import Ctx, post, raw_json_response, route


@dataclass(frozen=True)
class Api:
    endpoint: str  # the route's name (authorization matrix, audit log)
    http: str  # "GET /api/scoring/committees/<int:call_id>"
    rpc: str  # the contract's method
    access: object
    wrap: str | None = None  # the reply under this key: {"committees": [...]}
    status: int = 200
    file: bool = False  # the reply is a document (FileReply or CsvReply) to download
    summary: str = ""  # by default the first paragraph of the contract method's docstring
    # A query model whose fields are the RPC's keyword arguments (``?fiscal_year=…``).
    params: type[BaseModel] | None = None


def Download(endpoint: str, path: str, rpc: str, access: object, params=None) -> Api:  # noqa: N802
    """A page's link to a service's document (PDF, CSV): the URL's ids (and ``params``'
    fields) to ``rpc``, its reply downloaded (a row of ``passthrough``, as an API's file is)."""
    return Api(endpoint, f"GET {path}", rpc, access, file=True, params=params)


def passthrough(service: str, *rows: Api) -> None:
    methods = protocol_methods(protocol_of(service))
    for row in rows:
        method = methods[row.rpc]
        hints = typing.get_type_hints(method.signature.function, include_extras=True)
        body = hints.get("data")
        query = row.params or _model_in(hints.get("query"))
        returned = hints.get("return")
        verb, _, path = row.http.partition(" ")
        response = _response_model(row, returned)
        _register(service, row, verb, path, body, query, response, method.signature.function)


def _model_in(annotation) -> type[BaseModel] | None:
    """The model of an argument annotated ``Model`` or ``Model | None``."""
    for candidate in (annotation, *typing.get_args(annotation)):
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _response_model(row: Api, returned) -> type[BaseModel] | None:
    if row.file or returned is None:
        return None
    if row.wrap:
        return create_model(f"{_camel(row.endpoint)}Reply", **{row.wrap: (returned, ...)})
    if isinstance(returned, type) and issubclass(returned, BaseModel):
        return returned
    return RootModel[returned]


def _camel(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _register(service: str, row: Api, verb: str, path: str, body, query, response, contract):
    def handler(ctx: Ctx, **url_args):
        arguments = dict(url_args)
        if body is not None:
            arguments["data"] = ctx.body
        if row.params is not None:
            arguments.update(ctx.query.model_dump())
        elif query is not None:
            arguments["query"] = ctx.query
        if row.file:
            reply = getattr(ctx.service(service), row.rpc)(**arguments)
            if getattr(reply, "content_b64", None) is not None:
                return responses.document(ctx, reply)
            return responses.csv_download(ctx, reply.content, reply.filename)
        # The service's JSON as it came (its @rpc validated and serialised it against the
        # contract that this route's OpenAPI schema is made of): written out once.
        reply = getattr(ctx.service(service), row.rpc)(_raw=True, **arguments)
        if row.wrap:
            reply = {row.wrap: reply}
        return raw_json_response(reply, row.status)

    handler.__name__ = handler.__qualname__ = row.endpoint
    handler.__doc__ = contract.__doc__  # the operation's summary, unless the row has one
    route(
        path,
        methods=(verb,),
        access=row.access,
        body=body,
        response=response,
        summary=row.summary,
        query=query,
        statuses=(row.status,),
    )(handler)


# -- page forms that only pass a request on ----------------------------------------------------


@dataclass(frozen=True)
class Confirm:
    """The separate step before an action that removes or cancels something: the page
    (GET on the action's own path) says what will happen, and its one destructive button
    posts the action; the other way out goes back to ``then`` with nothing changed."""

    title: str  # the page's heading, a question: « Retirer la demande? »
    consequence: str  # what will happen, in a sentence or two
    button: str  # the destructive button's label


@dataclass(frozen=True)
class Post:
    """A page form that is one RPC: the URL's ids that the RPC takes (and the form as
    ``data``, unless it is ``NoFields``) go to ``rpc``; on success the browser goes to
    ``then`` (the URL's ids filled in, and ``{form.…}`` / ``{reply.…}``: a field of the
    form or of the RPC's reply, e.g. the id of what it created) with ``notice``; a
    refusal re-renders the table's
    ``on_error`` view. With ``confirm``, a GET on the same path is the confirmation step
    that the page links to (the action is then a link, not a button that acts at once)."""

    endpoint: str
    path: str
    rpc: str
    then: str
    notice: str
    form: type[BaseModel] | None = None  # NoFields when None
    access: object = None  # the table's by default
    confirm: Confirm | None = None


def page_actions(service: str, on_error, access, *rows: Post) -> None:
    methods = protocol_methods(protocol_of(service))
    for row in rows:
        form = row.form or NoFields
        takes = set(inspect.signature(methods[row.rpc].signature.function).parameters)
        handler = _action(service, row, form is not NoFields, takes)
        post(row.path, form, on_error, row.access or access)(handler)
        if row.confirm is not None:
            confirmation_step(row.path, row.access or access, row.endpoint, row.confirm, row.then)


def confirmation_step(path: str, access, endpoint: str, confirm: Confirm, back: str, query=None):
    """The confirmation step (GET on ``path``) of a destructive action that is an ordinary
    ``@post`` route: the page says what will happen and its destructive button posts to
    ``path``. With ``query`` (a contract model), the query string names what the action is
    about (the row the page's link was on) and goes with the button as hidden fields."""

    def handler(ctx: Ctx, **url_args):
        fields = ctx.query.model_dump(mode="json") if query is not None else {}
        return ctx.render(
            "confirm.html.j2", confirm=confirm, back=back.format(**url_args), fields=fields
        )

    handler.__name__ = handler.__qualname__ = f"{endpoint}_confirm"
    route(path, access=access, query=query, name=f"{endpoint}_confirm")(handler)


def _action(service: str, row: Post, with_data: bool, takes: set[str]):
    def handler(ctx: Ctx, form: BaseModel, **url_args):
        arguments = {name: value for name, value in url_args.items() if name in takes}
        if with_data:
            arguments["data"] = form
        reply = getattr(ctx.service(service), row.rpc)(**arguments)
        return ctx.done(row.then.format(**url_args, form=form, reply=reply), row.notice)

    handler.__name__ = handler.__qualname__ = row.endpoint
    return handler
