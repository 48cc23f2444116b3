"""API routes that only pass a request on to a service, declared as a table.

Most of the JSON API is one RPC per operation: the URL's ids and the body become the RPC's
arguments, its reply is the answer. Such an operation is one ``Api`` row; its body model is
the contract's model argument (``data``, else its one model argument), its query parameters
the contract's ``query`` argument (a model) or, with ``params``, its keyword arguments (the
fields of that query model; the same for a body with ``fields``: ``{"criteria": […]}`` as
``criteria=``), its response model the contract's reply, so the API, the service and the
OpenAPI document cannot disagree. An upload (``upload``) is a row too, and so is a read
that another service must allow first (``guard``). A reading that also answers its file on
request (``?format=csv``) names, with ``formats``, the RPC answering each format. A page's
download of a service's document is a ``Download`` row, the same pass-through answering a
file. Anything more (several services, a page) is an ordinary ``@route``.

A page form that is one RPC followed by a redirect with a notice is likewise one ``Post``
row of ``page_actions``.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field, RootModel, create_model

from gateway.clients import protocol_methods, protocol_of
from gateway.web import responses
from gateway.web.forms import NoFields
from gateway.web.framework import Ctx, post, raw_json_response, route
from rac_shared.contracts.base import Strict
from rac_shared.contracts.shape import is_model, unwrap


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
    # With ``params``: each file the reading answers instead of its JSON when the query asks
    # (``?format=csv``), and the RPC answering it with the same arguments, e.g.
    # ``{"csv": "statement_csv"}``. The ``format`` parameter is added to ``params``.
    formats: dict[str, str] | None = None
    # A body model whose fields are the RPC's keyword arguments (an RPC without ``data``).
    fields: type[BaseModel] | None = None
    # A multipart upload: (file field, size limit). Its other fields are the ``data``
    # model's; the file goes as ``filename`` and ``content_b64`` (as a ``Post`` row's).
    upload: tuple[str, int] | None = None
    # A check before the RPC, with the ctx and the URL's ids, that raises to refuse (one
    # that another service answers: an evaluator reads only the applications assigned).
    guard: Callable[..., None] | None = None


def Download(endpoint: str, path: str, rpc: str, access: object, params=None, guard=None) -> Api:  # noqa: N802
    """A page's link to a service's document (PDF, CSV): the URL's ids (and ``params``'
    fields) to ``rpc``, its reply downloaded (a row of ``passthrough``, as an API's file is)."""
    return Api(endpoint, f"GET {path}", rpc, access, file=True, params=params, guard=guard)


def passthrough(service: str, *rows: Api) -> None:
    methods = protocol_methods(protocol_of(service))
    for row in rows:
        _register(service, row, methods[row.rpc].signature.function)


def _model_in(annotation) -> type[BaseModel] | None:
    """The model of an argument annotated ``Model`` or ``Model | None``."""
    bare = unwrap(annotation)[0]
    return bare if is_model(bare) else None


def _model_argument(function) -> tuple[str, type[BaseModel]] | None:
    """The RPC's argument that an API body or a page's form goes as, with its model:
    ``data``, else its one model argument besides ``query`` (``competency``, ``estimate``)."""
    hints = typing.get_type_hints(function, include_extras=True)
    models = {name: _model_in(hints.get(name)) for name in inspect.signature(function).parameters}
    models = {name: model for name, model in models.items() if model and name != "query"}
    if "data" in models:
        return "data", models["data"]
    return next(iter(models.items()), None)


def _with_format(params: type[BaseModel], formats: dict[str, str]) -> type[BaseModel]:
    """``params`` and the ``format`` parameter that asks for one of ``formats``' files."""
    described = f"{' ou '.join(formats)} : le fichier au lieu du JSON"
    wanted = (Literal[tuple(formats)] | None, Field(None, title="Format", description=described))
    return create_model(params.__name__, __base__=params, format=wanted)


def _upload_form(row: Api, data: type[BaseModel] | None) -> type[BaseModel]:
    """An upload's multipart fields: those of the RPC's ``data`` but the file's own."""
    fields = {
        name: (field.annotation, field)
        for name, field in (data.model_fields if data else {}).items()
        if name not in ("filename", "content_b64")
    }
    doc = f"The fields beside the file (``{row.upload[0]}``): {', '.join(fields) or 'none'}."
    return create_model(f"{_camel(row.endpoint)}Form", __base__=Strict, __doc__=doc, **fields)


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


def _register(service: str, row: Api, function) -> None:
    """Register ``row``'s route: its body, query and reply are the contract ``function``'s."""
    hints = typing.get_type_hints(function, include_extras=True)
    argument = _model_argument(function)
    body = row.fields or (argument[1] if argument else None)
    form = _upload_form(row, body) if row.upload else None
    body = None if row.upload else body
    query = row.params or _model_in(hints.get("query"))
    verb, _, path = row.http.partition(" ")
    doc = (function.__doc__ or "").strip()
    summary = row.summary or " ".join(doc.split("\n\n")[0].split())
    if row.formats:
        query = _with_format(row.params, row.formats)
        summary += f" (format={' ou '.join(row.formats)} pour l'exporter)"
    takes = set(inspect.signature(function).parameters)
    name = argument[0] if argument else "data"

    def handler(ctx: Ctx, form: BaseModel | None = None, **url_args):
        if row.guard is not None:
            row.guard(ctx, **url_args)
        arguments = dict(url_args)
        if row.upload:
            file = responses.uploaded_file(ctx, *row.upload)
            arguments = rpc_arguments(takes, set(), url_args, form, file, name)
        if row.fields is not None:
            arguments.update(ctx.body)
        elif body is not None:
            arguments[name] = ctx.body
        if row.params is not None:
            arguments.update(ctx.query.model_dump(exclude={"format"} if row.formats else None))
        elif query is not None:
            arguments["query"] = ctx.query
        file_rpc = row.formats.get(ctx.query.format) if row.formats else None
        if row.file or file_rpc:
            reply = getattr(ctx.service(service), file_rpc or row.rpc)(**arguments)
            if getattr(reply, "content_b64", None) is not None:
                return responses.document(ctx, reply)
            return responses.csv_download(ctx, reply.content, reply.filename)
        # The service's JSON as it came (its @rpc validated and serialised it against the
        # contract that this route's OpenAPI schema is made of): written out once.
        reply = getattr(ctx.service(service), row.rpc)(_raw=True, **arguments)
        return raw_json_response(reply, row.status, row.wrap)

    handler.__name__ = handler.__qualname__ = row.endpoint
    route(
        path,
        methods=(verb,),
        access=row.access,
        body=body,
        response=_response_model(row, hints.get("return")),
        summary=summary,
        query=query,
        statuses=(row.status,),
        form=form,
        files=row.upload[:1] if row.upload else (),
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
    """A page form that is one RPC: the URL's ids that the RPC takes (and the form, unless
    it is ``NoFields``, as the RPC's model argument: ``data``, ``competency``…) go to
    ``rpc``; on success the browser goes to ``then`` (the URL's ids filled in, and
    ``{form.…}`` / ``{reply.…}``: a field of the form or of the RPC's reply, e.g. the id of
    what it created) with ``notice`` (None: the page it goes to says what happened, a
    background task's; a function of the form and the reply when the outcome picks it); a
    refusal re-renders the table's ``on_error`` view. With ``confirm``, a GET on the same
    path is the confirmation step that the page links to (the action is then a link, not a
    button that acts at once; the form's fields, if any, come in the link's query string:
    ``confirmation_step``).

    A form field that the RPC takes by name (an id posted by a row's button, ``since``)
    goes as that argument, the rest of the form is the model argument; a URL id that the
    RPC does not take but its model has (``…/recevabilite/<rule>``) goes into it. A form
    that is a part of the RPC's model (one of the editor's parts of a draft) goes as its
    fields, checked against that model. With ``upload`` (the file field and its size
    limit) the posted file goes along as ``filename`` and ``content_b64``, by name or in
    the model argument the same way."""

    endpoint: str
    path: str
    rpc: str
    then: str
    notice: str | Callable[[BaseModel, object], str] | None
    form: type[BaseModel] | None = None  # NoFields when None
    access: object = None  # the table's by default
    confirm: Confirm | None = None
    upload: tuple[str, int] | None = None  # ("fichier", applications.MAX_ATTACHMENT_BYTES)


def page_actions(service: str, on_error, access, *rows: Post) -> None:
    methods = protocol_methods(protocol_of(service))
    for row in rows:
        function = methods[row.rpc].signature.function
        takes = set(inspect.signature(function).parameters)
        form = row.form or NoFields
        argument = _model_argument(function)
        if argument is None and set(form.model_fields) - takes:
            raise ValueError(f"{row.endpoint}: {row.rpc} takes no model for the form")
        handler = _action(service, row, takes, argument)
        allowed = row.access or access
        post(row.path, form, on_error, allowed)(handler)
        if row.confirm is not None:
            confirmation_step(row.path, allowed, row.endpoint, row.confirm, row.then, row.form)


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


def _action(service: str, row: Post, takes: set[str], argument):
    """``argument``: the RPC's model argument (its name, its model), or None."""
    name, model = argument or ("data", None)
    data_fields = set(model.model_fields) if model else set()

    def handler(ctx: Ctx, form: BaseModel, **url_args):
        file = responses.uploaded_file(ctx, *row.upload) if row.upload else {}
        arguments = rpc_arguments(takes, data_fields, url_args, form, file, name, model)
        reply = getattr(ctx.service(service), row.rpc)(**arguments)
        notice = row.notice(form, reply) if callable(row.notice) else row.notice
        return ctx.done(row.then.format(**url_args, form=form, reply=reply), notice)

    handler.__name__ = handler.__qualname__ = row.endpoint
    return handler


def rpc_arguments(
    takes: set[str],
    data_fields: set[str],
    url_args: dict,
    form: BaseModel,
    file: dict,
    name: str = "data",
    model: type[BaseModel] | None = None,
) -> dict:
    """A row's RPC arguments: each URL id, form field and file field (``filename``,
    ``content_b64``) by its name when the RPC takes it (a URL id first); the rest of the form
    and file, with the URL ids that only the model argument has, as that argument (``name``:
    ``data``…; the form itself when it is all of it and of its ``model``)."""
    arguments = {key: value for key, value in url_args.items() if key in takes}
    extra = {n: v for n, v in url_args.items() if n not in takes and n in data_fields}
    named = {
        key: getattr(form, key)
        for key in type(form).model_fields
        if key in takes and key not in arguments and key != name
    }
    for key, value in file.items():
        (named if key in takes else extra)[key] = value
    arguments |= named
    if named or extra:
        data = form.model_dump(exclude=set(named)) | extra
    elif not type(form).model_fields:
        data = {}
    elif model is not None and not isinstance(form, model):
        data = form.model_dump()  # a part of the model: its fields, checked against it
    else:
        data = form
    if data:
        arguments[name] = data
    return arguments
