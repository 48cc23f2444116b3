"""Attachments are typed by their content (magic bytes), never by their name."""

from __future__ import annotations

import hashlib

import pytest

from rac_shared.errors import DomainError
from services.applications.files import (
    DOCX,
    JPEG,
    MAX_ATTACHMENT_BYTES,
    ODT,
    PDF,
    PNG,
    check_upload,
    clean_filename,
    detect_mime,
)
from services.applications.testing import (
    EXE,
    MINIMAL_PDF,
    docx_bytes,
    odt_bytes,
    plain_zip,
)
from services.applications.testing import (
    JPEG as JPEG_BYTES,
)
from services.applications.testing import (
    PNG as PNG_BYTES,
)


@pytest.mark.parametrize(
    ("content", "mime"),
    [
        (MINIMAL_PDF, PDF),
        (PNG_BYTES, PNG),
        (JPEG_BYTES, JPEG),
        (docx_bytes(), DOCX),
        (odt_bytes(), ODT),
        (EXE, None),
        (plain_zip(), None),
        (odt_bytes("application/vnd.oasis.opendocument.spreadsheet"), None),
        (b"PK\x03\x04 not really a zip", None),
        (b"<html><script>alert(1)</script></html>", None),
        (b"", None),
    ],
    ids=["pdf", "png", "jpeg", "docx", "odt", "exe", "zip", "ods", "broken-zip", "html", "empty"],
)
def test_detect_mime_from_content(content, mime):
    assert detect_mime(content) == mime


@pytest.mark.parametrize(
    ("filename", "content", "mime"),
    [
        ("lettre.pdf", MINIMAL_PDF, PDF),
        ("Résolution du CA.PDF", MINIMAL_PDF, PDF),
        ("photo.jpg", JPEG_BYTES, JPEG),
        ("photo.jpeg", JPEG_BYTES, JPEG),
        ("schema.png", PNG_BYTES, PNG),
        ("plan.docx", docx_bytes(), DOCX),
        ("plan.odt", odt_bytes(), ODT),
    ],
)
def test_accepted_files_keep_their_checksum(filename, content, mime):
    checked = check_upload(filename, content)
    assert checked.mime == mime
    assert checked.size == len(content)
    assert checked.sha256 == hashlib.sha256(content).hexdigest()


def test_an_exe_renamed_pdf_is_refused():
    with pytest.raises(DomainError) as error:
        check_upload("lettre-appui.pdf", EXE)
    assert error.value.code == "invalid"
    assert "ne correspond à aucun format accepté (PDF, DOCX, ODT, JPEG, PNG)" in (
        error.value.message
    )


def test_a_real_file_under_another_extension_is_refused():
    with pytest.raises(DomainError, match="ne correspond pas à son contenu \\(PNG\\)"):
        check_upload("lettre.pdf", PNG_BYTES)


def test_size_limit_is_enforced_to_the_byte():
    at_limit = MINIMAL_PDF + b"0" * (MAX_ATTACHMENT_BYTES - len(MINIMAL_PDF))
    assert check_upload("gros.pdf", at_limit).size == MAX_ATTACHMENT_BYTES
    with pytest.raises(DomainError, match="taille maximale de 10 Mo"):
        check_upload("trop-gros.pdf", at_limit + b"0")


def test_empty_file_and_missing_name_are_refused():
    with pytest.raises(DomainError, match="vide"):
        check_upload("vide.pdf", b"")
    with pytest.raises(DomainError, match="nom"):
        check_upload("   ", MINIMAL_PDF)


def test_only_allowed_types_for_a_given_use():
    with pytest.raises(DomainError, match="\\(PDF\\)"):
        check_upload("guide.docx", docx_bytes(), allowed=(PDF,))


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("C:\\Users\\moi\\lettre.pdf", "lettre.pdf"),
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("lettre\x00\r\n.pdf", "lettre.pdf"),
        ("  lettre   d'appui .pdf ", "lettre d'appui .pdf"),
        ("a" * 300 + ".pdf", "a" * 196 + ".pdf"),
    ],
)
def test_clean_filename(raw, clean):
    assert clean_filename(raw) == clean
