"""Attachments: the type is read from the content (magic bytes), never from the name.

Accepted: PDF, DOCX and ODT (ZIP packages recognised by their mandatory entries), JPEG
and PNG. An executable renamed ``.pdf`` is refused, and so is a real file whose extension
announces another type; then a PDF must parse and a package must not be a bomb
(``rac_shared.uploads``). Every accepted file is stored with its SHA-256.
"""

from __future__ import annotations

import hashlib
import io
import re
import unicodedata
import zipfile
from dataclasses import dataclass

from rac_shared import uploads
from rac_shared.contracts.applications import MAX_ATTACHMENT_BYTES
from rac_shared.errors import invalid

MAX_FILENAME = 200

PDF = "application/pdf"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"
JPEG = "image/jpeg"
PNG = "image/png"

ALL_TYPES = (PDF, DOCX, ODT, JPEG, PNG)
TYPE_LABELS = {PDF: "PDF", DOCX: "DOCX", ODT: "ODT", JPEG: "JPEG", PNG: "PNG"}
EXTENSIONS = {
    PDF: (".pdf",),
    DOCX: (".docx",),
    ODT: (".odt",),
    JPEG: (".jpg", ".jpeg"),
    PNG: (".png",),
}


@dataclass(frozen=True)
class CheckedFile:
    filename: str
    mime: str
    size: int
    sha256: str


def detect_mime(content: bytes) -> str | None:
    """The type of ``content`` from its first bytes (and a ZIP's entries), or None."""
    if content.startswith(b"%PDF-"):
        return PDF
    if content.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if content.startswith(b"\xff\xd8\xff"):
        return JPEG
    if content.startswith(b"PK\x03\x04"):
        return _office_package(content)
    return None


def _office_package(content: bytes) -> str | None:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as package:
            names = set(package.namelist())
            if "mimetype" in names:
                info = package.getinfo("mimetype")
                if info.file_size <= 200:
                    # Bounded read: ``package.read`` would inflate an entry that lies about
                    # its size whole (1 GiB in memory from a 1 MB upload) before truncating.
                    with package.open(info) as entry:
                        declared = entry.read(201).decode("ascii", "replace").strip()
                    if declared == ODT:
                        return ODT
                return None
            if "[Content_Types].xml" in names and "word/document.xml" in names:
                return DOCX
    except (zipfile.BadZipFile, OSError, ValueError, KeyError):
        return None
    return None


def clean_filename(filename: str) -> str:
    """The base name, without control characters or path separators, at most 200 chars."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = unicodedata.normalize("NFC", name)
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C")
    name = re.sub(r"\s+", " ", name).strip(" .")
    if len(name) > MAX_FILENAME:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: MAX_FILENAME - len(ext) - 1] + dot + ext) if dot else name[:MAX_FILENAME]
    return name


def check_upload(
    filename: str, content: bytes, allowed: tuple[str, ...] = ALL_TYPES
) -> CheckedFile:
    """Validate an uploaded file; raises ``invalid`` with a French message otherwise."""
    name = clean_filename(filename)
    if not name:
        raise invalid("Le fichier doit avoir un nom.", {"fichier": "Nom de fichier manquant."})
    if not content:
        raise invalid("Le fichier est vide.", {"fichier": "Le fichier est vide."})
    if len(content) > MAX_ATTACHMENT_BYTES:
        limit = MAX_ATTACHMENT_BYTES // (1024 * 1024)
        raise invalid(
            f"Le fichier dépasse la taille maximale de {limit} Mo.",
            {"fichier": f"Taille maximale : {limit} Mo."},
        )
    labels = ", ".join(TYPE_LABELS[m] for m in allowed)
    mime = detect_mime(content)
    if mime is None or mime not in allowed:
        raise invalid(
            f"Le contenu du fichier « {name} » ne correspond à aucun format accepté ({labels}).",
            {"fichier": f"Formats acceptés : {labels}."},
        )
    extension = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension not in EXTENSIONS[mime]:
        raise invalid(
            f"L'extension du fichier « {name} » ne correspond pas à son contenu "
            f"({TYPE_LABELS[mime]}).",
            {"fichier": f"Renommez le fichier avec l'extension {EXTENSIONS[mime][0]}."},
        )
    if mime == PDF:
        uploads.check_pdf(content)
    elif mime in (DOCX, ODT):
        uploads.check_package(content)
    return CheckedFile(
        filename=name, mime=mime, size=len(content), sha256=hashlib.sha256(content).hexdigest()
    )
