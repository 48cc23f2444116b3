"""What an uploaded document must be inside, beyond its first bytes: shared by every service
that stores files people send (attachments, call guides, report files, signed scans).

- **ZIP packages** (DOCX, ODT): the central directory is read first (entry count, declared
  total size and ratio to the file's size, nested archives), then every entry is inflated
  in bounded chunks and discarded, so that a package whose entries lie about their size is
  caught by its CRC or its length; nothing larger than ``MAX_UNCOMPRESSED_BYTES`` is ever
  inflated. An analyst's word processor opening a stored file must not meet a bomb.
- **PDF**: it must parse as a PDF (pypdf reads its cross-reference table and page tree) and
  carry no HTML: a PDF/HTML polyglot starts with ``%PDF-`` and renders as a page in a
  browser that sniffs it.

Refusals are ``invalid`` errors in French on the field ``fichier``.
"""

from __future__ import annotations

import io
import re
import zipfile

from rac_shared.errors import invalid

MAX_ENTRIES = 1000
MAX_UNCOMPRESSED_BYTES = 100 * 1024 * 1024  # 100 Mo inflated, whatever the file's size
MAX_RATIO = 100  # inflated size / file size: office documents stay far below
NESTED_ARCHIVE_SUFFIXES = (".zip", ".jar", ".docx", ".docm", ".xlsx", ".xlsm", ".pptx", ".odt",
                           ".ods", ".odp", ".7z", ".rar", ".gz", ".tgz", ".bz2", ".xz", ".tar",
                           ".cab")  # fmt: skip
ARCHIVE_MAGIC = (b"PK\x03\x04", b"7z\xbc\xaf\x27\x1c", b"Rar!", b"\x1f\x8b", b"BZh", b"\xfd7zXZ")
CHUNK = 64 * 1024
FIELD = "fichier"

# Markup that makes a browser render a PDF as a web page (a polyglot); a real PDF's text
# is in (usually compressed) content streams, never as raw HTML tags.
HTML_IN_PDF = re.compile(rb"<\s*(?:html|script|body|iframe|svg|!doctype\s+html)\b", re.IGNORECASE)


def _refuse(message: str, hint: str):
    return invalid(message, {FIELD: hint})


def check_package(content: bytes) -> None:
    """Refuse a ZIP package that would inflate beyond the limits, or holds another archive."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as package:
            entries = package.infolist()
            if len(entries) > MAX_ENTRIES:
                raise _refuse(
                    f"Le document contient trop d'éléments ({len(entries)}; au plus "
                    f"{MAX_ENTRIES}).",
                    "Document trop complexe.",
                )
            declared = sum(entry.file_size for entry in entries)
            _check_inflated_size(declared, len(content))
            for entry in entries:
                if entry.filename.lower().endswith(NESTED_ARCHIVE_SUFFIXES):
                    raise _nested()
            inflated = 0
            for entry in entries:
                if entry.is_dir():
                    continue
                with package.open(entry) as stream:
                    first = True
                    while chunk := stream.read(CHUNK):
                        if first and chunk.startswith(ARCHIVE_MAGIC):
                            raise _nested()
                        first = False
                        inflated += len(chunk)
                        _check_inflated_size(inflated, len(content))
    # NotImplementedError: zipfile's answer to a compression method it cannot inflate.
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, OSError):
        raise _refuse(
            "Le document est endommagé ou ses éléments ne correspondent pas à leur taille "
            "déclarée.",
            "Document endommagé : enregistrez-le de nouveau avant de le joindre.",
        ) from None
    except RuntimeError:  # an encrypted entry
        raise _refuse(
            "Le document est protégé par un mot de passe.",
            "Joignez une version sans mot de passe.",
        ) from None


def _check_inflated_size(size: int, file_size: int) -> None:
    if size > MAX_UNCOMPRESSED_BYTES or size > MAX_RATIO * max(file_size, 1):
        limit = MAX_UNCOMPRESSED_BYTES // (1024 * 1024)
        raise _refuse(
            "Une fois décompressé, le document dépasse la taille permise "
            f"({limit} Mo, ou {MAX_RATIO} fois la taille du fichier).",
            "Document compressé à l'excès : enregistrez-le en PDF.",
        )


def _nested():
    return _refuse(
        "Le document contient une archive ou un autre document intégré, ce qui n'est pas accepté.",
        "Retirez les objets intégrés ou joignez-les séparément.",
    )


def check_pdf(content: bytes) -> None:
    """Refuse what starts like a PDF but is not one, or is also a web page."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    if HTML_IN_PDF.search(content):
        raise _refuse(
            "Le fichier se présente comme un PDF mais contient du HTML.",
            "Fichier PDF non valide.",
        )
    try:
        reader = PdfReader(io.BytesIO(content), strict=False)
        if reader.is_encrypted:
            raise _refuse(
                "Le PDF est protégé par un mot de passe.", "Joignez une version sans mot de passe."
            )
        len(reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError,
            RecursionError, OSError, AssertionError):  # fmt: skip
        raise _refuse(
            "Le fichier se présente comme un PDF mais ne peut pas être lu comme tel.",
            "Fichier PDF non valide ou endommagé.",
        ) from None
