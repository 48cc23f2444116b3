"""nameko's ``@rpc``, validating its arguments against the contract and with lighter replies.

**Validated once, at the entrypoint.** The method's annotations are its contract
(``rac_shared/contracts/<service>.py``): ``actor: Actor, plan_id: int, data: PlanCreateIn``.
Arguments are validated before the method runs — a bad one is a ``DomainError("invalid")``
with a French message per field path, never a ``TypeError`` or a traceback — and the method
receives real models, dates and Decimals. A reply annotated with a contract model is
validated and serialised once (dates ISO, Decimals as strings); typed clients parse it back.

nameko publishes every RPC reply with publisher confirms and as a persistent message,
which costs a broker round trip and a disk-flag per call for a message that only lives
until the caller reads it. A reply that is lost (broker connection dropped mid-publish) is
indistinguishable, for the caller, from a slow service: it gets its timeout (HTTP 504)
either way, and the command itself was committed before the reply was sent. So replies
go out without confirms and non-persistent; requests and events keep nameko's defaults.
The protocol is unchanged: any nameko client can call these services.
"""

from __future__ import annotations

import functools
import inspect
import sys
import typing
from typing import Any

import kombu
import kombu.serialization
from kombu.pools import producers
from nameko.amqp.publish import DEFAULT_TRANSPORT_OPTIONS, Publisher
from nameko.constants import NON_PERSISTENT
from nameko.exceptions import UnserializableValueError, serialize
from nameko.rpc import Responder, Rpc, RpcConsumer
from sqlalchemy.exc import SQLAlchemyError

from rac_shared.db import database_unavailable
from rac_shared.errors import DomainError
from rac_shared.reply_cache import KeptReply, Serialised, json_text

JSON = "application/json"
# A successful JSON reply, as ``_encoded`` writes it (``{"result": …, "error": null}``, in that
# order): what lies between the two is the result's JSON text, which the gateway passes on
# as it is (``gateway.rpc_client.RawJson``).
REPLY_HEAD, REPLY_TAIL = '{"result": ', ', "error": null}'
DATABASE_UNAVAILABLE = "Le service est momentanément surchargé. Réessayez dans un instant."


class ReplyPublisher(Publisher):
    use_confirms = False
    delivery_mode = NON_PERSISTENT

    def publish(self, payload, **kwargs):
        """A reply, from the pool of producers of this broker: nameko's own ``publish``
        builds a new kombu ``Connection`` (its URL parsed, its options merged) for every
        reply only to find that pool."""
        key = (self.amqp_uri, repr(self.ssl), self.login_method)
        connection = _REPLY_CONNECTIONS.get(key)
        if connection is None:
            options = {**DEFAULT_TRANSPORT_OPTIONS, "confirm_publish": False}
            connection = _REPLY_CONNECTIONS[key] = kombu.Connection(
                self.amqp_uri, transport_options=options, ssl=self.ssl,
                login_method=self.login_method,
            )  # fmt: skip
        with producers[connection].acquire(block=True) as producer:
            producer.publish(
                payload,
                delivery_mode=self.delivery_mode,
                retry=self.retry,
                retry_policy=self.retry_policy,
                **kwargs,
            )


_REPLY_CONNECTIONS: dict[tuple, kombu.Connection] = {}


class LightResponder(Responder):
    """nameko's responder, serialising each reply once: nameko's own encodes the result a
    first time only to check that it can, then again to publish it (a 25 KB list page, twice
    per call). A reply kept by ``@cached_reply`` carries its JSON text, encoded when it was
    kept, and is sent as it is."""

    publisher_cls = ReplyPublisher

    def send_response(self, result, exc_info):
        content_type = self.message.properties["content_type"]
        error = serialize(exc_info[1]) if exc_info is not None else None
        if error is None and isinstance(result, KeptReply) and content_type == JSON:
            encoding, body = "utf-8", f"{REPLY_HEAD}{result.json}{REPLY_TAIL}"
        else:
            try:
                content_type, encoding, body = _encoded(content_type, result, error)
            except Exception:  # as nameko: the caller learns the reply could not be sent
                exc_info = sys.exc_info()
                error = serialize(UnserializableValueError(result))
                result = None
                content_type, encoding, body = _encoded(content_type, None, error)
        publisher = self.publisher_cls(self.amqp_uri, ssl=self.ssl, login_method=self.login_method)
        publisher.publish(
            body,
            content_type=content_type,
            content_encoding=encoding,
            exchange=self.exchange,
            routing_key=self.message.properties["reply_to"],
            correlation_id=self.message.properties.get("correlation_id"),
        )
        return result, exc_info


def _encoded(content_type: str, result, error) -> tuple[str, str, str | bytes]:
    """A reply's body, ``{"result": …, "error": …}`` in that order; JSON as UTF-8 text as it
    is (the gateway may pass the result's text on: ``gateway.rpc_client.RawJson``)."""
    reply = {"result": result, "error": error}
    if content_type == JSON:
        return JSON, "utf-8", json_text(reply)
    serializer = kombu.serialization.registry.type_to_name[content_type]
    return kombu.serialization.dumps(reply, serializer)


class LightRpcConsumer(RpcConsumer):
    def setup(self):
        from rac_shared.queues import redeclared

        super().setup()
        self.queue = redeclared(self.queue)  # quorum when QUORUM_QUEUES (rac_shared/queues.py)

    def handle_result(self, message, result, exc_info):
        config = self.container.config
        responder = LightResponder(
            config["AMQP_URI"],
            self._exchange(),
            config.get("serializer", "json"),
            message,
            ssl=config.get("AMQP_SSL"),
            login_method=config.get("LOGIN_METHOD"),
        )
        result, exc_info = responder.send_response(result, exc_info)
        self.queue_consumer.ack_message(message)
        return result, exc_info

    def _exchange(self):
        from nameko.rpc import get_rpc_exchange

        return get_rpc_exchange(self.container.config)


class LightRpc(Rpc):
    rpc_consumer = LightRpcConsumer()


class Signature:
    """A method's parameters as one pydantic model, and its reply as a type adapter.

    Built from annotations on first use (the contract's names are resolved then, when the
    module is complete). Shared by the service's entrypoints and the gateway's typed clients,
    which read the same signatures from the contract's ``Protocol``.
    """

    def __init__(self, function, skip: tuple[str, ...] = ("self",)):
        self.function = function
        self.skip = skip
        self._built = False

    def _build(self) -> None:
        from pydantic import ConfigDict, TypeAdapter, create_model

        signature = inspect.signature(self.function)
        hints = typing.get_type_hints(self.function, include_extras=True)
        fields = {}
        for name, parameter in signature.parameters.items():
            if name in self.skip or parameter.kind in (
                inspect.Parameter.VAR_POSITIONAL,
                inspect.Parameter.VAR_KEYWORD,
            ):
                continue
            default = ... if parameter.default is inspect.Parameter.empty else parameter.default
            fields[name] = (hints.get(name, Any), default)
        self.parameters = inspect.Signature(
            [p for n, p in signature.parameters.items() if n != "self"]
        )
        self.names = tuple(fields)
        self.arguments = create_model(
            f"{self.function.__qualname__.replace('.', '_')}_arguments",
            __config__=ConfigDict(arbitrary_types_allowed=True, extra="forbid"),
            **fields,
        )
        self.model_arguments = {
            name for name, (annotation, _) in fields.items() if _mentions_a_model(annotation)
        }
        returned = hints.get("return", Any)
        self.reply = TypeAdapter(returned) if _mentions_a_model(returned) else None
        self._built = True

    def validate(self, args: tuple, kwargs: dict) -> dict:
        """The validated arguments, by name; ``DomainError("invalid")`` if any is wrong."""
        validated, _ = self._validated(args, kwargs)
        return {name: getattr(validated, name) for name in self.names}

    def dump_arguments(self, kwargs: dict) -> dict:
        """The arguments given, validated, as JSON-ready values for the bus."""
        validated, given = self._validated((), kwargs)
        return validated.model_dump(mode="json", include=given)

    def _validated(self, args: tuple, kwargs: dict):
        from pydantic import ValidationError

        from rac_shared.contracts.base import INVALID_HEADLINE
        from rac_shared.errors import invalid

        if not self._built:
            self._build()
        try:
            bound = self.parameters.bind(*args, **kwargs)
        except TypeError:
            unexpected = sorted(set(kwargs) - set(self.names))
            raise invalid(
                INVALID_HEADLINE,
                {name: "Ce champ n'est pas permis." for name in unexpected}
                or {"corps": "Arguments manquants ou en trop."},
            ) from None
        try:
            validated = self.arguments.model_validate(dict(bound.arguments))
        except ValidationError as exc:
            raise invalid(INVALID_HEADLINE, self._details(exc)) from None
        return validated, set(bound.arguments)

    def _details(self, exc) -> dict[str, str]:
        """Field paths as the contract model names them: ``data.sections.context`` is the
        field ``sections.context`` of the model passed as ``data`` (a form names its fields
        so), while a plain argument keeps its name (``plan_id``)."""
        from rac_shared.contracts.base import error_details

        details = {}
        for path, message in error_details(exc, model=self.arguments).items():
            head, _, rest = path.partition(".")
            details.setdefault(rest if rest and head in self.model_arguments else path, message)
        return details

    def dump_reply(self, result):
        if isinstance(result, Serialised):  # kept by @cached_reply, serialised already
            return result.value
        if not self._built:
            self._build()
        if self.reply is None:
            return result
        return self.reply.dump_python(self.reply.validate_python(result), mode="json")

    def parse_reply(self, reply):
        if not self._built:
            self._build()
        return reply if self.reply is None else self.reply.validate_python(reply)


def _mentions_a_model(annotation) -> bool:
    from pydantic import BaseModel

    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_mentions_a_model(arg) for arg in typing.get_args(annotation))


def validated(method):
    """Validate ``method``'s arguments against its annotations and serialise its reply."""
    signature = Signature(method)

    @functools.wraps(method)
    def entrypoint(self, *args, **kwargs):
        values = signature.validate(args, kwargs)
        try:
            return signature.dump_reply(method(self, **values))
        except SQLAlchemyError as exc:
            if database_unavailable(exc):  # the caller sheds it: 503 + Retry-After
                raise DomainError(DATABASE_UNAVAILABLE, code="unavailable") from exc
            raise

    entrypoint.signature = signature
    return entrypoint


def rpc(method=None, **options):
    """``@rpc`` of every service: validated arguments, light replies."""
    if method is None:
        return lambda actual: LightRpc.decorator(**options)(validated(actual))
    return LightRpc.decorator(validated(method))


class ServiceTimeout(RuntimeError):
    """Another service did not answer in time (an ordinary exception, so that event
    handlers retry it and workers report it)."""


def call_within(seconds: float, call, *args, **kwargs):
    """``call(*args, **kwargs)`` bounded by ``seconds``.

    eventlet's ``Timeout`` is a ``BaseException``: escaping a nameko worker it skips the
    entrypoint's result handling, so an event handler's message was neither retried nor
    acknowledged — held until the process restarted. Here it becomes ``ServiceTimeout``.
    """
    import eventlet

    timer = eventlet.Timeout(seconds)
    try:
        return call(*args, **kwargs)
    except eventlet.Timeout as exc:
        if exc is not timer:
            raise
        name = getattr(call, "__name__", None) or repr(call)
        raise ServiceTimeout(f"{name} did not answer within {seconds} s") from None
    finally:
        timer.cancel()
