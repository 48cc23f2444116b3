"""A TCP forwarder between the platform's processes and RabbitMQ, to take the broker away
from one test platform without touching the shared RabbitMQ server.

``TcpProxy(target_port).start()`` runs the forwarder in its own process (so that nothing
the test process does can stall it); ``stop()`` kills it: every connection through it drops
at once and new ones are refused, as when the broker goes away; ``start()`` again brings
the broker back on the same port.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time


class TcpProxy:
    def __init__(self, target_port: int, listen_port: int | None = None, host="127.0.0.1"):
        self.host = host
        self.target_port = target_port
        self.port = listen_port or _free_port()
        self.process: subprocess.Popen | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, timeout: float = 10) -> TcpProxy:
        if self.running:
            return self
        self.process = subprocess.Popen(
            [sys.executable, __file__, self.host, str(self.port), str(self.target_port)],
            start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex((self.host, self.port)) == 0:
                    return self
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"TCP proxy on port {self.port} did not start")

    def stop(self) -> None:
        """The broker goes away: connections drop, new ones are refused."""
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(10)
        self.process = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def _serve(host: str, port: int, target: int) -> None:
    async def handle(client_reader, client_writer):
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(host, target)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            _pipe(client_reader, upstream_writer), _pipe(upstream_reader, client_writer)
        )

    server = await asyncio.start_server(handle, host, port, reuse_address=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(_serve(sys.argv[1], int(sys.argv[2]), int(sys.argv[3])))
