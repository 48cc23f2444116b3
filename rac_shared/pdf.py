"""PDF rendering with WeasyPrint, off the event loop and sandboxed.

WeasyPrint costs about a second of CPU per document and would block a nameko service's
hub (missed heartbeats, redeliveries), so it runs in a child process with a time limit.
Its ``url_fetcher`` refuses everything but inline ``data:`` URLs: no ``file://``, no network,
whatever a user managed to put into the HTML. Templates are autoescaped upstream.
"""

from __future__ import annotations

import subprocess
import sys

DEFAULT_TIMEOUT = 60.0


class PdfRenderingError(RuntimeError):
    """The document could not be rendered (time limit, invalid content)."""


def render_pdf(html: str, timeout: float = DEFAULT_TIMEOUT) -> bytes:
    """Render ``html`` to PDF bytes in a child process (cooperative under eventlet)."""
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


def sandboxed_url_fetcher():
    """WeasyPrint URL fetcher that allows only inline ``data:`` URLs."""
    from weasyprint.urls import URLFetcher

    return URLFetcher(allowed_protocols={"data"}, allow_redirects=False, timeout=1)


def render_in_this_process(html: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=html, url_fetcher=sandboxed_url_fetcher(), base_url=None).write_pdf()


if __name__ == "__main__":  # the child process
    import logging

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    sys.stdout.buffer.write(render_in_this_process(sys.stdin.buffer.read().decode("utf-8")))
