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


def test_documents_are_tagged_pdf_ua_with_language_title_bookmarks_and_totals_once(tmp_path):
    lines = "".join(f"<tr><td>Ligne {n}</td><td>{n},00 $</td></tr>" for n in range(1, 121))
    document = pdf.render_pdf(
        '<!DOCTYPE html><html lang="fr-CA"><head><meta charset="utf-8">'
        "<title>Plan PMO-CLV-2026-001 — version 1</title></head><body>"
        "<h1>Plan de mise en œuvre</h1><h2>Estimation des coûts</h2>"
        "<table><thead><tr><th>Poste</th><th>Montant</th></tr></thead>"
        f"<tbody>{lines}</tbody>"
        "<tfoot><tr><th>Total avant taxes</th><td>7 260,00 $</td></tr></tfoot></table>"
        "<h2>Acceptation</h2></body></html>"
    )
    reader = PdfReader(io.BytesIO(document))
    root = reader.trailer["/Root"]
    assert root["/Lang"] == "fr-CA" and bool(root["/MarkInfo"]["/Marked"])
    assert "/StructTreeRoot" in root
    assert reader.metadata.title == "Plan PMO-CLV-2026-001 — version 1"
    top = reader.outline
    assert top[0]["/Title"] == "Plan de mise en œuvre"
    assert [entry["/Title"] for entry in top[1]] == ["Estimation des coûts", "Acceptation"]
    pages = [page.extract_text() for page in reader.pages]
    assert len(pages) > 1
    # The header on every page the table spans, the totals once, after the last line.
    assert all("Poste" in page for page in pages)
    assert [page.count("Total avant taxes") for page in pages][:-1] == [0] * (len(pages) - 1)
    assert pages[-1].index("Ligne 120") < pages[-1].index("Total avant taxes")
    path = tmp_path / "plan.pdf"
    path.write_bytes(document)
    info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True)
    assert "Tagged:          yes" in info.stdout
