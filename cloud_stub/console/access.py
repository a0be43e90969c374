"""The owner's access page: the restock PIN, the technician PIN and the staff cards of one cabinet or of all.

A PIN is typed here and hashed by the server in the format the cabinet verifies (``hash_secret``: scrypt, within
``scrypt_problem``'s bounds); weak PINs are refused with the rule they broke (``pin_problems``). Every change is a
new version of each cabinet's configuration, validated and stored as the retailer API stores one
(``save_config``, as every edit of a configuration), so it reaches the cabinet with its next configuration pull.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDictProxy

from cloud_stub.console.auth import CORE, NavItem, current_user, requires
from cloud_stub.console.i18n import language, problem_text
from cloud_stub.console.paging import pager, requested_page
from cloud_stub.core import Core
from cloud_stub.retailer_api import save_config
from sync_client.cabinet_config import ROLES, UID_RE, ConfigInvalid, hash_secret, scrypt_problem

routes = web.RouteTableDef()
nav = (NavItem("access", "nav_access", ("owner",)),)

MIN_PIN_DIGITS, MAX_PIN_DIGITS = 6, 12  # the cabinet's pad takes 4 to 12; a new PIN is held to 6 at least
# PINs people pick first (beyond the repeated digits and runs that the rules catch by themselves).
COMMON_PINS = frozenset(
    {"123123", "121212", "112233", "111222", "123321", "131313", "147258", "159753", "147852", "696969",
     "520520", "520131", "131420", "100200", "102030", "200000", "010203", "202020", "101010", "123654",
     "12341234", "11223344", "12121212", "19901990", "20002000"}
)  # fmt: skip
PIN_KINDS = {"restock": "pin_hashes", "technician": "technician_pin_hashes"}  # the form's name -> the document's key
ALL = "all"


class PinRefused(ValueError):
    """A PIN that breaks a rule; ``problems`` are the i18n keys of every rule it broke."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(", ".join(problems))
        self.problems = problems


def pin_problems(pin: str) -> list[str]:
    """The rules ``pin`` breaks (i18n keys), none for a good PIN: digits only, 6 to 12 of them, not one digit
    repeated, not a run up or down (123456, 987654), not a common PIN, not a short group repeated (123123)."""
    if not pin.isascii() or not pin.isdigit():
        return ["pin_rule_digits"]
    if len(pin) < MIN_PIN_DIGITS:
        return ["pin_rule_short"]
    if len(pin) > MAX_PIN_DIGITS:
        return ["pin_rule_long"]
    problems = []
    if len(set(pin)) == 1:
        problems.append("pin_rule_same")
    steps = {(int(b) - int(a)) % 10 for a, b in zip(pin, pin[1:], strict=False)}
    if steps in ({1}, {9}):  # every digit one more (or one less) than the one before, 0 following 9
        problems.append("pin_rule_sequence")
    repeated = any(len(pin) % n == 0 and pin == pin[:n] * (len(pin) // n) for n in range(2, len(pin) // 2 + 1))
    if pin in COMMON_PINS or (repeated and not problems):
        problems.append("pin_rule_common")
    return problems


def hash_pin(pin: str) -> str:
    """The PIN's scrypt hash as the cabinet verifies it; PinRefused for a weak one."""
    problems = pin_problems(pin)
    if problems:
        raise PinRefused(problems)
    hashed = hash_secret(pin)
    problem = scrypt_problem(hashed)
    if problem:  # our own parameters outside what a cabinet accepts: a bug here, never the user's
        raise RuntimeError(f"the PIN hash would be refused by the cabinet: {problem}")
    return hashed


def card_uid(text: str) -> str | None:
    """A card UID as typed (any case, spaces or colons between the bytes) in the document's form, or None."""
    uid = "".join(c for c in text.strip().lower() if c not in " :-")
    return uid if UID_RE.fullmatch(uid) else None


@dataclass(frozen=True)
class CabinetAccess:
    id: str
    version: int | None  # None: no configuration yet (nothing to change until the retailer sets one)
    pins: int  # how many restock PINs the configuration holds
    technician_pins: int
    cards: list[dict[str, str]]


def _access_of(cabinet_id: str, found: tuple[int, dict[str, Any]] | None) -> CabinetAccess:
    retailer = (found[1].get("retailer") or {}) if found else {}
    return CabinetAccess(
        cabinet_id,
        found[0] if found else None,
        len(retailer.get("pin_hashes", [])),
        len(retailer.get("technician_pin_hashes", [])),
        list(retailer.get("staff_cards", [])),
    )


async def _cabinets(core: Core, retailer: str, cabinet_ids: list[str] | None = None) -> list[CabinetAccess]:
    # One query for the cabinets (all, or those of ``cabinet_ids``): a request per cabinet is hundreds of trips.
    found = await core.db(core.store.configs_of, retailer, cabinet_ids=cabinet_ids)
    return [_access_of(cabinet_id, config) for cabinet_id, config in found.items()]


def _scope(value: str, cabinets: list[CabinetAccess]) -> list[CabinetAccess]:
    """The cabinets a change is for: ``all``, or one of the retailer's (404 for any other id)."""
    if value == ALL:
        return cabinets
    chosen = [c for c in cabinets if c.id == value]
    if not chosen:
        raise web.HTTPNotFound()
    return chosen


async def _page(
    request: web.Request, status: int = 200, scope: str | None = None, **context: Any
) -> web.StreamResponse:
    """The page for ``scope`` (a cabinet's id or "all"; default: the query's ``cabinet``, else all): the
    cabinets' access a page at a time (the query's ``page``)."""
    core, retailer = request.app[CORE], current_user(request).retailer
    ids, _ = await core.db(core.store.cabinet_ids, retailer)  # the scope's choices: ids only
    scope = scope or request.query.get("cabinet", ALL)
    if scope != ALL and scope not in ids:  # another retailer's cabinet is as absent as one that does not exist
        raise web.HTTPNotFound()
    chosen = ids if scope == ALL else [scope]
    pages = pager(len(chosen), requested_page(request))
    shown = await _cabinets(core, retailer, chosen[pages.offset : pages.offset + pages.size])
    context = {
        "cabinets": ids,
        "shown": shown,
        "pager": pages,
        "scope": scope,
        "roles": ROLES,
        "min_pin": MIN_PIN_DIGITS,
        "max_pin": MAX_PIN_DIGITS,
        "notice": None,
        "errors": [],
        "page_url": str(request.app.router["access"].url_for().with_query(cabinet=scope)),
        **context,
    }
    return aiohttp_jinja2.render_template("access.html", request, context, status=status)


@routes.get("/access", name="access")
@requires("owner")
async def access(request: web.Request) -> web.StreamResponse:
    return await _page(request)


Change = Callable[[dict[str, Any]], None]  # edits a cabinet's copy of the retailer section in place


async def _apply(request: web.Request, form: MultiDictProxy[Any], change: Change) -> web.StreamResponse:
    """Apply ``change`` to the retailer section of every cabinet in the form's scope, each a new configuration
    version; the page says which cabinets got which version and which have no configuration to change yet."""
    core = request.app[CORE]
    retailer = current_user(request).retailer
    cabinets = await _cabinets(core, retailer)
    targets = _scope(str(form.get("scope", ALL)), cabinets)
    saved, skipped, errors = [], [], []
    for cabinet in targets:
        found = await core.db(core.store.config, cabinet.id)
        if found is None:
            skipped.append(cabinet.id)
            continue
        document = dict(found[1])
        section = dict(document.get("retailer") or {})
        change(section)
        document["retailer"] = section
        try:
            saved.append(f"{cabinet.id} v{await save_config(core, retailer, cabinet.id, document)}")
        except ConfigInvalid as exc:
            reason = "; ".join(problem_text(p, language(request)) for p in exc.details)
            errors.append(("access_config_refused", {"cabinet": cabinet.id, "reason": reason}))
    notice = ("access_saved", {"saved": ", ".join(saved) or "—", "skipped": ", ".join(skipped) or "—"})
    scope = str(form.get("scope", ALL))
    return await _page(request, 422 if errors else 200, scope, notice=notice, errors=errors)


@routes.post("/access/pin", name="set_pin")
@requires("owner")
async def set_pin(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    kind = str(form.get("kind", ""))
    if kind not in PIN_KINDS:
        raise web.HTTPBadRequest(reason="pin_kind_invalid")
    pin, again = str(form.get("pin", "")), str(form.get("pin_again", ""))
    if pin != again:
        return await _page(request, 400, str(form.get("scope", ALL)), errors=[("pins_differ", {})])
    try:
        hashed = await asyncio.to_thread(hash_pin, pin)  # scrypt: off the event loop
    except PinRefused as exc:
        return await _page(request, 400, str(form.get("scope", ALL)), errors=[(p, {}) for p in exc.problems])

    def change(section: dict[str, Any]) -> None:
        section[PIN_KINDS[kind]] = [hashed]  # the new PIN replaces the old ones

    return await _apply(request, form, change)


@routes.post("/access/cards", name="add_card")
@requires("owner")
async def add_card(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    uid, role = card_uid(str(form.get("uid", ""))), str(form.get("role", ""))
    if uid is None:
        return await _page(request, 400, str(form.get("scope", ALL)), errors=[("card_uid_invalid", {})])
    if role not in ROLES:
        raise web.HTTPBadRequest(reason="card_role_invalid")

    def change(section: dict[str, Any]) -> None:
        cards = [c for c in section.get("staff_cards", []) if c.get("uid") != uid]
        section["staff_cards"] = [*cards, {"uid": uid, "role": role}]

    return await _apply(request, form, change)


@routes.post("/access/cards/remove", name="remove_card")
@requires("owner")
async def remove_card(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    uid = card_uid(str(form.get("uid", "")))
    if uid is None:
        return await _page(request, 400, str(form.get("scope", ALL)), errors=[("card_uid_invalid", {})])

    def change(section: dict[str, Any]) -> None:
        section["staff_cards"] = [c for c in section.get("staff_cards", []) if c.get("uid") != uid]

    return await _apply(request, form, change)
