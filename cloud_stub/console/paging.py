"""Pages of a long list (the fleet, the stock, the orders of a fleet of hundreds of cabinets): the page a
request asks for, and where the others are. A page is what the server renders, so each costs what it shows."""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from aiohttp import web
from yarl import URL

PAGE_SIZE = 50
T = TypeVar("T")


@dataclass(frozen=True)
class Pager:
    page: int  # from 1, at most ``pages``
    pages: int
    total: int  # items on all pages
    size: int = PAGE_SIZE

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def requested_page(request: web.Request) -> int:
    """The query's ``page``; anything but a positive number is the first."""
    page = request.query.get("page", "1")
    return int(page) if page.isdigit() and int(page) >= 1 else 1


def pager(total: int, page: int, size: int = PAGE_SIZE) -> Pager:
    """Page ``page`` of ``total`` items (a page past the end is the last)."""
    pages = max(1, math.ceil(total / size))
    return Pager(min(page, pages), pages, total, size)


def page_url(here: web.Request | str, page: int) -> str:
    """This page's URL (the request's, or an address: a page rendered as the answer to a form names its own) with
    the same query on another page (a template filter: ``request|page_url(2)``)."""
    url = here.rel_url if isinstance(here, web.Request) else URL(here)
    return str(url.update_query(page=str(page)))


async def fetch_page(
    request: web.Request, fetch: Callable[[int, int], Awaitable[tuple[list[T], int]]], size: int = PAGE_SIZE
) -> tuple[list[T], Pager]:
    """The requested page of a list the store pages: ``fetch(limit, offset)`` gives a page and the total (which a
    page past the end may not know: then a row of the first page tells it). A page past the end is the last."""
    wanted = requested_page(request)
    items, total = await fetch(size, (wanted - 1) * size)
    if not items and wanted > 1:
        _, total = await fetch(1, 0)
    pages = pager(total, wanted, size)
    if pages.page != wanted and total:
        items, _ = await fetch(size, pages.offset)
    return items, pages
