"""Pages of a long list (the fleet, the stock, the orders of a fleet of hundreds of cabinets): the page a
request asks for, and where the others are. A page is what the server renders, so each costs what it shows."""

from __future__ import annotations

import math
from dataclasses import dataclass

from aiohttp import web

PAGE_SIZE = 50


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


def page_url(request: web.Request, page: int) -> str:
    """This page's URL with the same query on another page (a template filter: ``request|page_url(2)``)."""
    return str(request.rel_url.update_query(page=str(page)))
