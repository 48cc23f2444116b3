"""The lists an analyst works from, on the pages: one page at a time (the service's
``Page``: rows, count, next cursor), a pager, and exports of every row of the list as the
filters and the sort ask, in CSV (UTF-8 with a byte-order mark, ``;``) and XLSX
(``rac_shared.tabular``), with the columns the page shows.

A list declares its columns once (``Column``: the title the page's table and the exports
show, and the cell's value); ``exports(...)`` registers its ``.csv`` and ``.xlsx`` routes,
which read the list in bounded batches (``rac_shared.listing.every_page``), never the whole
list at once from the service.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlencode

from werkzeug.wrappers import Response

from gateway.web import responses
from gateway.web.framework import Ctx, route
from rac_shared.contracts.base import Strict
from rac_shared.contracts.listing import ListQuery, Page
from rac_shared.listing import every_page
from rac_shared.tabular import Cell, csv_text, xlsx_bytes

CURSOR = "curseur"  # the pages' name of the cursor parameter


class PageQuery(Strict):
    """A list page's filters as its URL names them in French (``?statut=…&tri=…``; the
    exports take the same query): ``contract()`` is the service's query, each field under
    its name there (``NAMES``: the page's name → the contract's, besides the sort and the
    cursor that every list has)."""

    CONTRACT: ClassVar[type[ListQuery]]
    NAMES: ClassVar[dict[str, str]] = {}

    def contract(self) -> ListQuery:
        names = {"tri": "sort", CURSOR: "cursor", **self.NAMES}
        return self.CONTRACT(**{names.get(name, name): value for name, value in self})


@dataclass(frozen=True)
class Column:
    title: str
    value: Callable[[Any], Cell]


@dataclass(frozen=True)
class Pager:
    """What the page's pager and export links need (``_lists.html.j2``)."""

    count: int
    next_url: str | None
    first_url: str | None
    export_query: str


def pager(ctx: Ctx, page: Page, cursor: str = CURSOR) -> Pager:
    """The links of a list's page: the next page (the same query with the next cursor), back
    to the first page when this one is not, and the exports' query (every filter and the
    sort, no cursor: an export has every row). ``cursor``: the page's name of the cursor
    parameter, ``curseur`` or ``cursor``."""
    args = [(k, v) for k, v in ctx.request.args.items(multi=True) if k not in (cursor, "fait")]
    path = ctx.request.path
    query = urlencode(args)
    first = f"{path}?{query}" if query else path
    return Pager(
        count=page.count,
        next_url=f"{path}?{urlencode([*args, (cursor, page.next_cursor)])}"
        if page.next_cursor
        else None,
        first_url=first if ctx.request.args.get(cursor) else None,
        export_query=f"?{query}" if query else "",
    )


def table(rows, columns: Sequence[Column]) -> tuple[list[str], list[list[Cell]]]:
    return [c.title for c in columns], [[c.value(row) for c in columns] for row in rows]


def exports(
    path: str,
    *,
    name: str,
    filename: str,
    access,
    query: type,
    sheet: str,
    fetch: Callable[..., Page],
    columns: Callable[[Ctx], Sequence[Column]],
    contract: Callable[[Ctx], ListQuery] | None = None,
    api: str | None = None,
) -> None:
    """``{path}.csv`` and ``{path}.xlsx`` (routes ``{name}_csv`` and ``{name}_xlsx``, files
    ``{filename}.csv`` and ``.xlsx``): every row of the list the page's query string
    asks (``contract`` makes the service's query from it; by default the query model's
    ``contract()`` when its names are the page's, else the query itself), read page after page by
    ``fetch(ctx, query, **url_args)`` (the path's ids, e.g. a call's). With ``api``, the
    same files at ``{api}.csv`` and ``{api}.xlsx`` for API clients (``api_{name}_csv``…)."""

    def rows(ctx: Ctx, url_args: dict):
        query = contract(ctx) if contract else getattr(ctx.query, "contract", lambda: ctx.query)()
        pages = every_page(lambda q: fetch(ctx, q, **url_args), query)
        return table(pages, columns(ctx))

    def as_csv(ctx: Ctx, **url_args) -> Response:
        header, body = rows(ctx, url_args)
        return responses.csv_download(ctx, csv_text(header, body), f"{filename}.csv")

    def as_xlsx(ctx: Ctx, **url_args) -> Response:
        header, body = rows(ctx, url_args)
        content = xlsx_bytes(sheet, header, body)
        return responses.download(ctx, content, f"{filename}.xlsx", responses.XLSX_MIME)

    as_csv.__name__ = as_csv.__qualname__ = f"{name}_csv"
    as_xlsx.__name__ = as_xlsx.__qualname__ = f"{name}_xlsx"
    route(f"{path}.csv", access=access, query=query)(as_csv)
    route(f"{path}.xlsx", access=access, query=query)(as_xlsx)
    if api is not None:
        route(f"{api}.csv", access=access, query=query, name=f"api_{name}_csv")(as_csv)
        route(f"{api}.xlsx", access=access, query=query, name=f"api_{name}_xlsx")(as_xlsx)
