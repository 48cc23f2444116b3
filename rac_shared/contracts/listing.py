"""One shape for every list an analyst works from: what a list is asked (``ListQuery``: a
page size, an opaque cursor and a sort, plus each list's own filters) and what it answers
(``Page[Row]``: the rows of one page, how many rows match in all, and the cursor of the next
page). The pages, the API's list routes, their exports and OpenAPI all read these models.

A list's sorts are a ``Vocabulary`` whose first member is « work to do first »; each sort
is a keyset order with the row's id as the last key, so a page never repeats or skips a row.
The cursor is made and read by the service (``rac_shared.listing``): it is signed and tied
to the list, its sort, its filters and the tenant that asked, so a forged cursor or one
from another tenant is refused with 400 rather than shown as somebody else's page.
"""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

from pydantic import BeforeValidator, Field

from rac_shared.contracts.base import Reply, Strict

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR = 600


def _blank_is_none(value):
    return value or None


# An opaque cursor: what ``next_cursor`` was (a page's query string names it ``curseur``).
Cursor = Annotated[
    Annotated[str, Field(max_length=MAX_CURSOR)] | None, BeforeValidator(_blank_is_none)
]


class ListQuery(Strict):
    """The paging part of every list's query; a list adds its ``sort`` (a vocabulary whose
    default is « work to do first ») and its filters."""

    limit: int = Field(DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, title="Nombre de résultats par page")
    cursor: Cursor = Field(
        None,
        title="Page",
        description="Curseur opaque de la page suivante (next_cursor de la réponse précédente)",
    )

    def filters(self) -> dict:
        """The query's filters and sort (what a cursor is tied to): everything but the page."""
        return self.model_dump(mode="json", exclude={"limit", "cursor"})


class Page(Reply, Generic[T]):
    """One page of a list: its rows, how many rows match the filters in all, and the cursor
    of the next page (``None`` on the last one)."""

    items: list[T]
    count: int
    limit: int
    sort: str
    next_cursor: str | None = None
