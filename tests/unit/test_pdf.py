"""The sandboxed PDF renderer: WeasyPrint imported once in a renderer process that forks a
child per document, with a time limit, no file or network access, and no orphan."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time

import pytest
from pypdf import PdfReader

from rac_shared import pdf


def text_of(document: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(document)).pages)


def test_a_french_document_renders_and_the_renderer_is_reused():
    first = pdf.render_pdf("<h1>Plan de mise en œuvre</h1><p>Acceptée après révision.</p>")
    renderer = pdf._current
    second = pdf.render_pdf("<p>Deuxième document : 250 000,00 $</p>")
    assert "Acceptée après révision." in text_of(first)
    assert "250 000,00 $" in text_of(second)
    assert renderer is not None and pdf._current is renderer and renderer.alive()


def test_local_files_and_the_network_are_never_fetched(tmp_path):
    stylesheet = tmp_path / "fuite.css"
    stylesheet.write_text('body::after { content: "FUITE-LOCALE" }')
    html = (
        f'<link rel="stylesheet" href="file://{stylesheet}">'
        '<link rel="stylesheet" href="http://127.0.0.1:9/distante.css">'
        f'<p>Contenu</p><img src="file://{stylesheet}">'
    )
    for document in (pdf.render_pdf(html), pdf._render_in_fresh_process(html, 30)):
        assert "Contenu" in text_of(document)
        assert "FUITE-LOCALE" not in text_of(document)


def test_a_document_over_its_time_limit_is_refused_and_the_next_one_renders():
    huge = "<table>" + "<tr><td>cellule</td></tr>" * 60_000 + "</table>"
    started = time.monotonic()
    with pytest.raises(pdf.PdfRenderingError):
        pdf.render_pdf(huge, timeout=1)
    assert time.monotonic() - started < 10
    assert pdf.render_pdf("<p>Suivant</p>").startswith(b"%PDF")


def test_the_renderer_ends_with_the_process_that_started_it():
    script = (
        "from rac_shared import pdf; pdf.render_pdf('<p>x</p>'); "
        "print(pdf._current.process.pid, pdf._current.path)"
    )
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    pid, path = int(output[0]), output[1]
    deadline = time.monotonic() + 5
    while _alive(pid):
        assert time.monotonic() < deadline, "the renderer outlived its parent"
        time.sleep(0.1)
    assert not os.path.exists(os.path.dirname(path))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as stat:  # a zombie waiting for its reaper is gone too
        return stat.read().split()[2] != "Z"
