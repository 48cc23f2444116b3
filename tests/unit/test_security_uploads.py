"""Hostile uploads: files that lie about their type, and ZIP bombs.

The platform accepts DOCX and ODT attachments (ZIP packages) besides PDF, PNG and JPEG. It
never unzips them: ``detect_mime`` reads the ZIP's central directory (the list of names) and,
for an ODT, the ``mimetype`` entry only when it declares at most 200 bytes; reading stops at
the declared size. The stored file is returned as is, as an attachment. These tests build
real bombs (a DOCX whose ``word/document.xml`` inflates to 1 GiB of zeros, about 1 MB on the
wire) and check that typing them costs milliseconds and a few megabytes, whatever they hold.
"""

from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zipfile
import zlib

import pytest

from rac_shared.errors import DomainError
from services.applications.files import DOCX, ODT, PDF, check_upload, detect_mime
from services.applications.testing import EXE, MINIMAL_PDF, PNG
from services.plans.lifecycle import check_scan

GIB = 1 << 30
MIB = 1 << 20
GIB_OF_ZEROS_CRC32 = 0x5B64C2B0  # zlib.crc32 of 1 GiB of zero bytes (checked below)


def deflated_zeros(mebibytes: int) -> bytes:
    """A raw deflate stream of ``mebibytes`` MiB of zeros, built without inflating it:
    one fully flushed block repeated (each ~1 KB), then an empty final block."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    block = compressor.compress(b"\0" * MIB) + compressor.flush(zlib.Z_FULL_FLUSH)
    return block * mebibytes + b"\x03\x00"


def deflated(data: bytes) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return compressor.compress(data) + compressor.flush()


def zip_of(*entries: tuple[str, bytes, int, int]) -> bytes:
    """A ZIP file from (name, raw deflate data, CRC-32, declared uncompressed size)."""
    out = io.BytesIO()
    central = []
    for name, data, crc, size in entries:
        offset, encoded = out.tell(), name.encode()
        out.write(
            struct.pack(
                "<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(data), size, len(encoded), 0
            )
        )
        out.write(encoded + data)
        central.append(
            struct.pack(
                "<IHHHHHHIIIHHHHHII",
                *(0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(data), size, len(encoded)),
                *(0, 0, 0, 0, 0, offset),
            )
            + encoded
        )
    start = out.tell()
    out.write(b"".join(central))
    out.write(
        struct.pack(
            "<IHHHHIIH", 0x06054B50, 0, 0, len(central), len(central), out.tell() - start, start, 0
        )
    )
    return out.getvalue()


def small(name: str, text: bytes) -> tuple[str, bytes, int, int]:
    return name, deflated(text), zlib.crc32(text), len(text)


def gib_of_zeros(name: str, declared: int = GIB) -> tuple[str, bytes, int, int]:
    return name, deflated_zeros(1024), GIB_OF_ZEROS_CRC32, declared


DOCX_BOMB = zip_of(small("[Content_Types].xml", b"<Types/>"), gib_of_zeros("word/document.xml"))


def cost(function, *args) -> tuple[object, float, int]:
    """(result, seconds, peak bytes allocated) of one call."""
    tracemalloc.start()
    started = time.perf_counter()
    try:
        result = function(*args)
    except DomainError as exc:
        result = exc
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return result, elapsed, peak


def test_the_bomb_is_a_real_one():
    """The DOCX bomb is a valid ZIP whose entry declares 1 GiB, about 1 MB on the wire;
    its first megabyte inflates to zeros (inflating it all takes seconds: not done here)."""
    assert len(DOCX_BOMB) < 2 * MIB
    with zipfile.ZipFile(io.BytesIO(DOCX_BOMB)) as package:
        info = package.getinfo("word/document.xml")
        assert info.file_size == GIB
        assert info.file_size / info.compress_size > 1000
        with package.open(info) as entry:
            assert entry.read(MIB) == b"\0" * MIB


def test_the_crc_constant_is_that_of_a_gibibyte_of_zeros():
    crc, block = 0, b"\0" * MIB
    for _ in range(1024):
        crc = zlib.crc32(block, crc)
    assert crc == GIB_OF_ZEROS_CRC32


def test_a_docx_inflating_to_a_gibibyte_is_typed_without_being_unzipped_then_refused():
    mime, seconds, peak = cost(detect_mime, DOCX_BOMB)
    assert mime == DOCX
    assert seconds < 0.5, f"typing the bomb took {seconds:.2f} s"
    assert peak < 8 * MIB, f"typing the bomb allocated {peak / MIB:.0f} MiB"
    # A valid package, but its declared size (1 GiB, 1000 times the file) is refused
    # from the central directory, before anything is inflated.
    refused, seconds, peak = cost(check_upload, "bombe.docx", DOCX_BOMB)
    assert isinstance(refused, DomainError) and refused.code == "invalid"
    assert "décompressé" in refused.message and refused.details["fichier"]
    assert seconds < 0.5 and peak < 8 * MIB


def lying_docx(declared: int) -> bytes:
    """A DOCX whose document declares ``declared`` bytes but inflates to 1 GiB."""
    return zip_of(
        small("[Content_Types].xml", b"<Types/>"), gib_of_zeros("word/document.xml", declared)
    )


def test_a_docx_lying_about_its_size_is_refused_after_inflating_at_most_what_it_declares():
    refused, seconds, peak = cost(check_upload, "bombe.docx", lying_docx(4 * MIB))
    assert isinstance(refused, DomainError) and "endommagé" in refused.message
    assert seconds < 2 and peak < 8 * MIB


def docx_with(*entries) -> bytes:
    """A minimal DOCX package with more ``entries``."""
    return zip_of(
        small("[Content_Types].xml", b"<Types/>"), small("word/document.xml", b"<w/>"), *entries
    )


@pytest.mark.parametrize(
    ("package", "said"),
    [
        (docx_with(small("word/embeddings/feuille.xlsx", b"PK\x03\x04 archive")), "archive"),
        (docx_with(small("word/media/image1.bin", b"PK\x03\x04 archive")), "archive"),
        (docx_with(*(small(f"word/part{i}.xml", b"<p/>") for i in range(1000))), "trop d'él"),
    ],
    ids=["nested-by-name", "nested-by-content", "too-many-entries"],
)
def test_a_package_holding_another_archive_or_too_many_entries_is_refused(package, said):
    refused, _, _ = cost(check_upload, "lettre.docx", package)
    assert isinstance(refused, DomainError) and said in refused.message


def test_an_ordinary_docx_with_text_that_compresses_well_is_accepted():
    text = b"".join(  # ~1 Mo of paragraphs, compressed about 20 times as Word's XML is
        f"<w:p><w:r><w:t>Paragraphe {i} : appui au CERAC no {i * 7919 % 10007}.</w:t></w:r></w:p>"
        .encode() for i in range(15_000)
    )  # fmt: skip
    package = zip_of(small("[Content_Types].xml", b"<Types/>"), small("word/document.xml", text))
    assert check_upload("lettre.docx", package).mime == DOCX


@pytest.mark.parametrize(
    "content",
    [
        b"%PDF-1.4\n<html><body><script>alert(1)</script></body></html>\n%%EOF",
        MINIMAL_PDF.replace(b"endobj\n3 0 obj", b"endobj\n<script>alert(1)</script>\n3 0 obj"),
        b"%PDF-1.4\nrien d'autre qu'une en-tete\n",
    ],
    ids=["html-after-the-signature", "polyglot-that-parses", "no-pdf-structure"],
)
def test_a_pdf_must_parse_and_carry_no_html(content):
    refused, _, _ = cost(check_upload, "lettre.pdf", content)
    assert isinstance(refused, DomainError) and refused.code == "invalid"
    assert refused.message.startswith("Le fichier se présente comme un PDF")
    assert check_upload("lettre.pdf", MINIMAL_PDF).mime == PDF  # control


@pytest.mark.parametrize(
    ("label", "package"),
    [
        # The ODT "mimetype" entry itself is the bomb, and says so: never read.
        ("declared", zip_of(gib_of_zeros("mimetype"), small("content.xml", b"<c/>"))),
        # It lies: declares 39 bytes, inflates to 1 GiB. Reading stops at the declared size.
        ("lying", zip_of(gib_of_zeros("mimetype", declared=39), small("content.xml", b"<c/>"))),
    ],
)
def test_an_odt_whose_mimetype_entry_is_a_bomb_is_refused_cheaply(label, package):
    mime, seconds, peak = cost(detect_mime, package)
    assert mime is None, label
    assert seconds < 0.5, f"{label}: {seconds:.2f} s"
    assert peak < 8 * MIB, f"{label}: {peak / MIB:.0f} MiB"
    refused, _, _ = cost(check_upload, "bombe.odt", package)
    assert isinstance(refused, DomainError) and refused.code == "invalid"


def test_a_genuine_odt_built_the_same_way_is_accepted():
    """Control for the test above: the hand-built ZIP is a package the checker does read."""
    package = zip_of(small("mimetype", ODT.encode()), small("content.xml", b"<c/>"))
    assert detect_mime(package) == ODT


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("facture.pdf", EXE),  # an executable renamed .pdf
        ("facture.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>"),
        ("logo.png", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>'),
        ("lettre.pdf", b"#!/bin/sh\nrm -rf /\n"),
        ("lettre.docx", zip_of(small("word/document.xml", b"<w/>"))),  # no [Content_Types]
        ("lettre.pdf", b" %PDF-1.4 " + MINIMAL_PDF),  # the signature is not at the start
        ("scan.png", PNG),  # a real PNG where only PDF is accepted (below)
    ],
    ids=[
        "exe-as-pdf",
        "html-as-pdf",
        "svg-as-png",
        "script-as-pdf",
        "zip-as-docx",
        "shifted-pdf",
        "png-for-pdf-only",
    ],  # fmt: skip
)
def test_files_that_lie_about_their_type_are_refused(filename, content):
    allowed = (PDF,) if filename == "scan.png" else (PDF, DOCX, ODT, "image/jpeg", "image/png")
    with pytest.raises(DomainError) as refused:
        check_upload(filename, content, allowed=allowed)
    assert refused.value.code == "invalid"
    assert "fichier" in refused.value.details


@pytest.mark.parametrize(
    ("filename", "content"),
    [
        ("acceptation.pdf", EXE),
        ("acceptation.pdf", "<html><body>signé</body></html>".encode()),
        ("acceptation.png", MINIMAL_PDF),
        ("acceptation.docx", DOCX_BOMB),
        ("acceptation.pdf", b"%PDF-1.4 une en-tete seulement"),
        ("acceptation.pdf", MINIMAL_PDF.replace(b"xref", b"<html><script>x</script>\nxref")),
    ],
    ids=["exe-as-pdf", "html-as-pdf", "pdf-as-png", "docx", "not-a-pdf", "polyglot"],
)
def test_a_signed_acceptance_scan_that_lies_about_its_type_is_refused(filename, content):
    with pytest.raises(DomainError) as refused:
        check_scan(filename, content)
    assert refused.value.code == "invalid"
    assert check_scan("acceptation.pdf", MINIMAL_PDF) == ("acceptation.pdf", PDF)
