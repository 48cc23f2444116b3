"""PDF rendering with WeasyPrint, off the event loop and sandboxed.

WeasyPrint costs about a second of CPU per document and would block a nameko service's
hub (missed heartbeats, redeliveries), so it never runs in the service's process. Starting a
fresh interpreter and importing WeasyPrint for every document cost a third more than the
rendering itself, so each process keeps one *renderer*: a child that imported WeasyPrint once
and, for every document, forks a grandchild that renders it and exits (memory goes back to
the system after each document; one document cannot affect the next). The renderer listens
on a Unix socket in a private directory and exits when its parent does. If it cannot be
started, each document gets a fresh child process as before.

Each rendering has a time limit (the grandchild is killed by an alarm). WeasyPrint's
``url_fetcher`` refuses everything but inline ``data:`` URLs: no ``file://``, no network,
whatever a user managed to put into the HTML. Templates are autoescaped upstream.
"""

from __future__ import annotations

import gc
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

DEFAULT_TIMEOUT = 60.0
_HEADER = struct.Struct("!cQ")  # status (b"K" or b"E"), length


class PdfRenderingError(RuntimeError):
    """The document could not be rendered (time limit, invalid content)."""


def render_pdf(html: str, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """Render ``html`` to PDF bytes outside this process (cooperative under eventlet).
    French spacing is not applied here: every template's output already went through the
    one typographic pass (``rac_shared.french.typeset``, in the Jinja environment), and a
    second pass over a 20-page plan cost 7 % of its rendering."""
    renderer = _renderer()
    if renderer is None:
        return _render_in_fresh_process(html, timeout)
    return renderer.render(html, timeout)


def sandboxed_url_fetcher():
    """WeasyPrint URL fetcher that allows only inline ``data:`` URLs."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"}, allow_redirects=False, timeout=1)


# Every document the platform writes (plans, receipts, letters, invoices, credit notes,
# statements, reports) is a tagged PDF/UA-1: a screen reader gets its headings, tables and
# reading order; the language and title come from the template's ``<html lang>`` and
# ``<title>``, the bookmarks from its headings (WeasyPrint's defaults).
PDF_VARIANT = "pdf/ua-1"
# Printed tables: the header (``<thead>``) is repeated on every page a table spans, the
# totals (``<tfoot>``) are printed once, after the last line, where the template puts them.
DOCUMENT_CSS = "thead { display: table-header-group; } tfoot { display: table-row-group; }"


WARM_UP = (
    '<html lang="fr-CA"><head><title>Préparation</title></head><body><h1>Titre</h1>'
    "<p>Texte <strong>gras</strong> et <em>italique</em>.</p><table><thead><tr><th>Poste"
    "</th></tr></thead><tbody><tr><td>250 000,00 $</td></tr></tbody></table></body></html>"
)


def render_in_this_process(html: str) -> bytes:
    from weasyprint import CSS, HTML

    document = HTML(string=html, url_fetcher=sandboxed_url_fetcher(), base_url=None)
    return document.write_pdf(stylesheets=[CSS(string=DOCUMENT_CSS)], pdf_variant=PDF_VARIANT)


# -- the fallback: one fresh process per document ---------------------------------------------


def _render_in_fresh_process(html: str, timeout: float) -> bytes:
    try:
        completed = subprocess.run(
            [sys.executable, "-m", "rac_shared.pdf"],
            input=html.encode("utf-8"),
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise PdfRenderingError(f"PDF rendering exceeded {timeout} s") from exc
    if completed.returncode != 0 or not completed.stdout.startswith(b"%PDF"):
        raise PdfRenderingError(completed.stderr.decode("utf-8", "replace")[-2000:])
    return completed.stdout


# -- the renderer, as its parent sees it ---------------------------------------------------------

_lock = threading.Lock()
_current: Renderer | None = None


def _renderer() -> Renderer | None:
    global _current
    with _lock:
        if _current is not None and _current.alive():
            return _current
        try:
            _current = Renderer.start()
        except Exception:
            _current = None
        return _current


class Renderer:
    def __init__(self, process: subprocess.Popen, path: str):
        self.process = process
        self.path = path

    @classmethod
    def start(cls, wait: float = 30.0) -> Renderer:
        directory = tempfile.mkdtemp(prefix="rac-pdf-")
        path = os.path.join(directory, "renderer.sock")
        process = subprocess.Popen(
            [sys.executable, "-m", "rac_shared.pdf", "--renderer", path],
            stdin=subprocess.PIPE,  # closed when this process ends: the renderer follows
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + wait
        while not os.path.exists(path):
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise PdfRenderingError("the PDF renderer did not start")
            time.sleep(0.05)
        return cls(process, path)

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """Close the renderer's input: it finishes and exits."""
        self.process.stdin.close()
        self.process.wait(timeout)

    def render(self, html: str, timeout: float) -> bytes:
        data = html.encode("utf-8")
        connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        connection.settimeout(timeout + 5)
        try:
            connection.connect(self.path)
            connection.sendall(struct.pack("!dQ", timeout, len(data)) + data)
            status, length = _HEADER.unpack(_read_exactly(connection, _HEADER.size))
            body = _read_exactly(connection, length)
        except (OSError, EOFError) as exc:  # killed by its time limit, or the renderer died
            raise PdfRenderingError(f"PDF rendering failed or exceeded {timeout} s") from exc
        finally:
            connection.close()
        if status != b"K" or not body.startswith(b"%PDF"):
            raise PdfRenderingError(body.decode("utf-8", "replace")[-2000:])
        return body


def _read_exactly(connection: socket.socket, size: int) -> bytes:
    chunks, remaining = [], size
    while remaining:
        chunk = connection.recv(min(remaining, 1 << 20))
        if not chunk:
            raise EOFError("connection closed early")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


# -- the renderer process ------------------------------------------------------------------------


def _serve(path: str) -> None:
    """Import WeasyPrint once, then fork one sandboxed child per document."""
    import logging
    import select
    import signal

    import weasyprint  # noqa: F401  (the point: imported once, before forking)

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    # One small document first: fonts found and loaded, the user-agent stylesheets parsed,
    # once here rather than in every child (each starts as a copy of this process).
    render_in_this_process(WARM_UP)
    # What the children inherit stays out of the collector's passes: a pass in a child
    # would write to every inherited object's header and copy its page.
    gc.collect()
    gc.freeze()
    # Reap each child as it ends (waited for, its CPU time and memory count as this
    # process's children's, which is what ``make bench`` reads).
    signal.signal(signal.SIGCHLD, _reap_children)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path + ".tmp")
    os.chmod(path + ".tmp", 0o600)
    listener.listen(64)
    os.rename(path + ".tmp", path)  # the parent waits for this name
    while True:
        readable, _, _ = select.select([listener, sys.stdin], [], [])
        if sys.stdin in readable and not os.read(sys.stdin.fileno(), 1):
            break  # the parent is gone
        if listener in readable:
            connection, _ = listener.accept()
            if os.fork() == 0:
                try:
                    listener.close()
                    _render_one(connection)
                finally:
                    os._exit(0)  # never back into the loop, whatever happened
            connection.close()
    listener.close()
    os.unlink(path)
    os.rmdir(os.path.dirname(path))


def _reap_children(_signum, _frame) -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def _render_one(connection: socket.socket) -> None:
    import signal

    # A child lives for one document, then its memory goes back whole: the cyclic
    # collector's passes (a tenth of a 21-page plan's CPU) would free nothing worth it
    # (peak memory 104 MB with them, 105 MB without, for that plan).
    gc.disable()
    try:
        timeout, length = struct.unpack("!dQ", _read_exactly(connection, 16))
        signal.alarm(max(1, int(timeout + 0.999)))  # the time limit: SIGALRM ends this child
        html = _read_exactly(connection, length).decode("utf-8")
        try:
            status, body = b"K", render_in_this_process(html)
        except Exception as exc:
            status, body = b"E", f"{type(exc).__name__}: {exc}".encode()
        connection.sendall(_HEADER.pack(status, len(body)) + body)
    finally:
        connection.close()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--renderer":
        _serve(sys.argv[2])
    else:  # one document from stdin to stdout (the fallback)
        import logging

        logging.getLogger("weasyprint").setLevel(logging.ERROR)
        sys.stdout.buffer.write(render_in_this_process(sys.stdin.buffer.read().decode("utf-8")))
