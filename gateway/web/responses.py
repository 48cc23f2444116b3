"""Files in and out of the gateway, in one place: downloads (werkzeug's ``send_file``, RFC 5987
names), CSV and spreadsheet exports (their text: ``rac_shared.tabular``), uploads read within
a limit.

A document from a service arrives as ``{filename, mime, content_b64}`` (a ``FileReply`` of
the contracts); people get it with its French name intact (``filename*=UTF-8''…``) and an
ASCII fallback, never cached by a shared proxy.
"""

from __future__ import annotations

import base64
import io

from werkzeug.utils import send_file
from werkzeug.wrappers import Response

from rac_shared.errors import invalid
from rac_shared.formatting import filesize

CSV_MIME = "text/csv"
PDF_MIME = "application/pdf"
# The query parameter asking a JSON reading for its file instead (the OpenAPI document
# lists each value's media type next to the JSON answer).
FORMAT_MIMES = {"csv": CSV_MIME, "pdf": PDF_MIME}
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def download(ctx, content: bytes, filename: str, mime: str) -> Response:
    response = send_file(
        io.BytesIO(content),
        ctx.request.environ,
        mimetype=mime,
        as_attachment=True,
        download_name=filename,
        conditional=False,
        etag=False,
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.direct_passthrough = False  # in memory already: readable by middleware and tests
    return response


def document(ctx, reply) -> Response:
    """A service's document (a reply with ``filename``, ``mime``, ``content_b64``: a
    ``FileReply``, a plan's file, an attachment) as a download."""
    content = base64.b64decode(reply.content_b64)
    return download(ctx, content, reply.filename, reply.mime or PDF_MIME)


def csv_download(ctx, text: str, filename: str) -> Response:
    """UTF-8 with a byte-order mark, so that a spreadsheet reads the accents right (werkzeug
    names the charset of a text type: ``text/csv; charset=utf-8``)."""
    content = ("\ufeff" + text.removeprefix("\ufeff")).encode("utf-8")
    return download(ctx, content, filename, CSV_MIME)


def size_limit(max_bytes: int) -> str:
    """A size limit as people read it: ``10 Mo``, or ``512 Ko`` below one megabyte."""
    if max_bytes >= 1024 * 1024:
        return f"{max_bytes // (1024 * 1024)} Mo"
    return filesize(max_bytes)


def uploaded(ctx, field: str, max_bytes: int, required: bool = True) -> tuple[str, bytes] | None:
    """(filename, content) of the file posted in ``field``, refused above ``max_bytes``."""
    storage = ctx.request.files.get(field)
    if storage is None or not storage.filename:
        if not required:
            return None
        raise invalid("Choisissez un fichier à joindre.", {field: "Aucun fichier choisi."})
    content = storage.read(max_bytes + 1)
    if len(content) > max_bytes:
        limit = size_limit(max_bytes)
        raise invalid(
            f"Le fichier dépasse la taille maximale de {limit}.",
            {field: f"Taille maximale : {limit}."},
        )
    if not content:
        raise invalid("Le fichier est vide.", {field: "Fichier vide."})
    return storage.filename, content


def uploaded_file(ctx, field: str, max_bytes: int) -> dict[str, str]:
    """The file posted in ``field`` as the services take a file: ``{filename, content_b64}``."""
    filename, content = uploaded(ctx, field, max_bytes)
    return {"filename": filename, "content_b64": base64.b64encode(content).decode("ascii")}
