"""The pages of the console's long lists (fleet, stock, orders): which page a request asks for, a page past the
end shows the last, and the links to the other pages keep the filters."""

from __future__ import annotations

from aiohttp.test_utils import make_mocked_request

from cloud_stub.console.paging import PAGE_SIZE, page_url, pager, requested_page


def test_a_page_past_the_end_is_the_last_and_an_empty_list_has_one_page() -> None:
    assert pager(500, 1) == pager(500, 1, PAGE_SIZE) and pager(500, 1).pages == 10
    assert (pager(500, 10).offset, pager(500, 99).page) == (450, 10)
    assert (pager(501, 11).page, pager(501, 11).offset) == (11, 500)
    assert (pager(0, 3).page, pager(0, 3).pages) == (1, 1)


def test_the_requested_page_is_a_positive_number_or_the_first() -> None:
    for query, page in (("", 1), ("?page=3", 3), ("?page=0", 1), ("?page=-2", 1), ("?page=x", 1), ("?page=2.5", 1)):
        assert requested_page(make_mocked_request("GET", "/console/fleet" + query)) == page


def test_the_links_to_other_pages_keep_the_filters() -> None:
    request = make_mocked_request("GET", "/console/fleet?state=offline&q=mall+4&page=2")
    assert page_url(request, 3) == "/console/fleet?state=offline&q=mall+4&page=3"
