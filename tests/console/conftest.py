"""The retailer console in a real browser: `kiosk-cloud serve` as a real process on an ephemeral port with
its own database, users made with the real CLI, Debian's Chromium driven by Playwright.

Fixtures for console tests:
- ``console``: the running cloud (``url``, ``workdir``) and its CLI (``add_retailer``, ``add_cabinet``,
  ``add_user``).
- ``browser`` (one per worker) and ``page`` (a fresh browser context and page per test, with
  ``base_url`` set: ``page.goto("/console/fleet")``); ``new_page()`` opens another person's browser.
- ``owner``: retailer ``RETAILER`` with one cabinet and an owner (``OWNER``, ``PASSWORD``).
- ``retail`` and ``sim_cabinet`` (from tests/e2e): a simulated cabinet process against this cloud;
  ``retail`` registers ``RETAILER`` and configures the cabinet, so add the owner after it (``add_owner``).
- ``cabinet_with_owner(console, retail)``: starts that cabinet and adds the owner; returns its control client.
- ``sign_in(page, email)``, ``csrf_token(page)``, ``axe_violations(page)`` below.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Response, sync_playwright

from firmware.control_client import ControlClient, _bin, start_cloud

# The cabinet and retailer of tests/e2e, and its fixtures that start a simulated cabinet (reused on this cloud).
from tests.e2e.conftest import CABINET_ID as CABINET_ID
from tests.e2e.conftest import RETAILER as RETAILER
from tests.e2e.conftest import RetailerApi
from tests.e2e.conftest import retail as retail
from tests.e2e.conftest import sim_cabinet as sim_cabinet

CHROMIUM = os.environ.get("KIOSK_CHROMIUM", "/usr/bin/chromium")
PASSWORD = "correct horse battery staple"
OWNER = "owner@velo-mall.example"
AXE = Path(__file__).with_name("axe.min.js")
TIMEOUT_MS = 10_000
# What the ``retail`` fixture gives: the retailer's API and the function that starts its simulated cabinet.
Retail = tuple[RetailerApi, Callable[..., ControlClient]]


@dataclass
class Console:
    workdir: Path
    url: str
    db: str  # the served database: workdir's cloud.db, or a PostgreSQL URL (KIOSK_CONSOLE_DB, below)
    tokens: dict[str, str] = field(default_factory=dict)  # retailer -> the API token `retailer add` printed

    def cli(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*_bin("kiosk-cloud"), *args, "--db", self.db],
            input=stdin,
            capture_output=True,
            text=True,
            check=check,
            timeout=30,
        )

    def add_retailer(self, name: str) -> str:
        """Returns the retailer's first API token."""
        self.tokens[name] = self.cli("retailer", "add", name).stdout.strip()
        return self.tokens[name]

    def add_cabinet(self, cabinet_id: str, retailer: str) -> None:
        self.cli("cabinet", "add", cabinet_id, "--retailer", retailer)

    def add_user(self, retailer: str, email: str, role: str = "owner", password: str = PASSWORD) -> None:
        self.cli("user", "add", "--retailer", retailer, "--email", email, "--role", role, stdin=password + "\n")


@pytest.fixture
def cloud_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The database the console's `serve` uses: its workdir's SQLite file; with KIOSK_CONSOLE_DB=postgresql a
    fresh PostgreSQL database (the browser tests then run on PostgreSQL; not in the default suite, whose time
    they would double: their store calls run on both stores in the unit tests)."""
    if os.environ.get("KIOSK_CONSOLE_DB") == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return str(tmp_path / "cloud.db")


@pytest.fixture
def cloud(tmp_path: Path, cloud_db: str) -> Iterator[tuple[Path, str]]:
    """The cloud as tests/e2e's fixtures expect it (workdir, url): their sim_cabinet and retail run on it."""
    proc, url = start_cloud(tmp_path, args=("--db", cloud_db))  # the last --db given is the one
    yield tmp_path, url
    proc.stop()


@pytest.fixture
def console(cloud: tuple[Path, str], cloud_db: str) -> Console:
    workdir, url = cloud
    return Console(workdir, url, cloud_db)


@pytest.fixture
def owner(console: Console) -> Console:
    console.add_retailer(RETAILER)
    console.add_cabinet(CABINET_ID, RETAILER)
    console.add_user(RETAILER, OWNER)
    return console


# Module scope, not session: Playwright's sync API keeps an event loop running in the thread while it is
# started, and a worker's next async test (of another directory) must find none.
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: `make setup` installs Debian's chromium (hardware/system-packages.txt), "
            "or set KIOSK_CHROMIUM to a Chromium binary"
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM)
        yield launched
        launched.close()


@pytest.fixture
def new_page(browser: Browser, console: Console) -> Iterator[Callable[..., Page]]:
    """Opens a page in a browser context of its own (another person, another device); ``bypass_csp`` only
    for injecting axe-core, ``phone`` for a phone's viewport."""
    contexts: list[BrowserContext] = []

    def open_page(*, bypass_csp: bool = False, phone: bool = False, locale: str = "en-GB") -> Page:
        options: dict[str, Any] = {"base_url": console.url, "bypass_csp": bypass_csp, "locale": locale}
        if phone:
            options.update(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Page]) -> Page:
    return new_page()


def cabinet_with_owner(console: Console, retail: Retail, *start_args: str) -> ControlClient:
    """Start the simulated cabinet ``retail`` configured (``start_args``: extra TOML) and add the retailer's
    owner (OWNER), who can then sign in; the cabinet's control client."""
    _, start = retail
    client = start(*start_args)
    console.add_user(RETAILER, OWNER)
    return client


def sign_in(page: Page, email: str, password: str = PASSWORD, path: str = "/console/sign-in") -> None:
    page.goto(path)
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def status(response: Response | None) -> int:
    """The status of what ``page.goto`` loaded."""
    assert response is not None, "no response (the same URL again?)"
    return response.status


def csrf_token(page: Page) -> str:
    """The session's CSRF token as a page carries it (for requests a test sends by hand)."""
    return str(page.locator("input[name=csrf_token]").first.get_attribute("value"))


def axe_violations(page: Page, impacts: tuple[str, ...] = ("serious", "critical")) -> list[dict[str, Any]]:
    """Run axe-core (vendored, tests/console/axe.min.js) on the page; the violations of these impacts."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"], "nodes": [n["html"][:200] for n in v["nodes"][:3]]}
        for v in result["violations"]
        if v["impact"] in impacts
    ]
