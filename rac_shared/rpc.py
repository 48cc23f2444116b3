"""nameko's ``@rpc`` with lighter replies.

nameko publishes every RPC reply with publisher confirms and as a persistent message,
which costs a broker round trip and a disk-flag per call for a message that only lives
until the caller reads it. A reply that is lost (broker connection dropped mid-publish) is
indistinguishable, for the caller, from a slow service: it gets its timeout (HTTP 504)
either way, and the command itself was committed before the reply was sent. So replies
go out without confirms and non-persistent; requests and events keep nameko's defaults.
The protocol is unchanged: any nameko client can call these services.
"""

from __future__ import annotations

from nameko.amqp.publish import Publisher
from nameko.constants import NON_PERSISTENT
from nameko.rpc import Responder, Rpc, RpcConsumer


class ReplyPublisher(Publisher):
    use_confirms = False
    delivery_mode = NON_PERSISTENT


class LightResponder(Responder):
    publisher_cls = ReplyPublisher


class LightRpcConsumer(RpcConsumer):
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


rpc = LightRpc.decorator
