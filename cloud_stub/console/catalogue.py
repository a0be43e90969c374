"""The catalogue of a cabinet: products (per-language texts, price in currency units, online only), their
variants (SKU, per-language name, colour) and the ad playlist (order, duration, schedule, per-language text,
the product advertised, the picture or video from the retailer's uploads).

The form is read back into a configuration document and saved through the retailer API's own
``save_config``: the cabinet's ``parse_config`` checks it, and every problem it names
(``products[0].variants[1].sku: ...``) is shown next to the field it is about (``field_for``). What the
form does not edit (specs, product pictures, narrations) is kept as it was.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import aiohttp_jinja2
from aiohttp import web
from multidict import MultiDictProxy

from cloud_stub.console.auth import CORE, NavItem, current_user, requires
from cloud_stub.console.i18n import language, minor_digits, problem_message, problem_text, translator
from cloud_stub.console.paging import fetch_page
from cloud_stub.retailer_api import config_problems, save_config
from sync_client.cabinet_config import MAX_PRICE_CENTS, MEDIA_KINDS, ConfigInvalid, Problem, media_hash

routes = web.RouteTableDef()
nav = (NavItem("catalogue", "nav_catalogue", ("owner", "staff"), paths=("/console/catalogue",)),)
EDITORS = ("owner", "staff")
# The product keys this form edits; the others (specs, media, narration, colours, currency) are kept as stored.
PRODUCT_KEYS = ("sku", "name", "summary", "materials", "design_notes", "price_cents", "online_only", "variants")
WINDOW_RE = re.compile(r"([1-7](?:-[1-7])?(?:,[1-7](?:-[1-7])?)*)\s+(\d\d:\d\d)-(\d\d:\d\d)")
# parse_config's names for a field (after the item's index) -> the form's
RENAMED = {"price_cents": "price", "duration_s": "duration"}
LISTS = {"products": "p", "variants": "v", "ads": "a"}  # listed items, numbered in the form's ids
WHOLE = {"materials", "windows"}  # one form field holds the whole list


@dataclass
class VariantForm:
    sku: str = ""
    name: dict[str, str] = field(default_factory=dict)
    colour: str = ""


@dataclass
class ProductForm:
    sku: str = ""
    name: dict[str, str] = field(default_factory=dict)
    summary: dict[str, str] = field(default_factory=dict)
    materials: dict[str, str] = field(default_factory=dict)  # one material a line, per language
    design_notes: dict[str, str] = field(default_factory=dict)
    price: str = ""  # in the currency's units, as typed
    online_only: bool = False
    variants: list[VariantForm] = field(default_factory=list)
    kept: str = "{}"  # JSON of the keys this form does not edit


@dataclass
class AdForm:
    id: str = ""
    kind: str = "image"
    url: str = ""
    duration: str = "8"
    text: dict[str, str] = field(default_factory=dict)
    product: str = ""
    variant: str = ""
    windows: str = ""  # one a line: "1-5 09:00-18:00" (1 = Monday)


@dataclass
class CatalogueForm:
    languages: tuple[str, ...]
    currency: str
    products: list[ProductForm]
    ads: list[AdForm]


# --- the stored document as a form, and back -----------------------------------------------------------
def _by_language(value: Any, languages: tuple[str, ...]) -> dict[str, str]:
    if isinstance(value, dict):
        return {lang: str(value.get(lang, "")) for lang in languages}
    return {lang: (str(value) if lang == languages[0] and value is not None else "") for lang in languages}


def _units(cents: Any, currency: str) -> str:
    if not isinstance(cents, int) or isinstance(cents, bool):
        return ""
    digits = minor_digits(currency)
    return str(Decimal(cents).scaleb(-digits).quantize(Decimal(1).scaleb(-digits))) if digits else str(cents)


def _windows_text(windows: Any) -> str:
    lines = []
    for w in windows if isinstance(windows, list) else []:
        if isinstance(w, dict):
            days = ",".join(str(d + 1) for d in w.get("days", []) if isinstance(d, int))
            lines.append(f"{days} {w.get('start', '')}-{w.get('end', '')}")
    return "\n".join(lines)


def form_of(document: dict[str, Any]) -> CatalogueForm:
    raw_languages = document.get("languages") or [document.get("fallback_language", "en")]
    fallback = document.get("fallback_language", raw_languages[0])
    languages = (fallback, *(lang for lang in raw_languages if lang != fallback))
    currency = str(document.get("currency", "EUR"))
    products = []
    for p in document.get("products", []):
        materials = [_by_language(m, languages) for m in p.get("materials", [])]
        products.append(
            ProductForm(
                sku=str(p.get("sku", "")),
                name=_by_language(p.get("name", ""), languages),
                summary=_by_language(p.get("summary", ""), languages),
                materials={lang: "\n".join(m[lang] for m in materials if m[lang]) for lang in languages},
                design_notes=_by_language(p.get("design_notes", ""), languages),
                price=_units(p.get("price_cents"), currency),
                online_only=bool(p.get("online_only", False)),
                variants=[
                    VariantForm(
                        str(v.get("sku", "")), _by_language(v.get("name", ""), languages), str(v.get("colour", ""))
                    )
                    for v in p.get("variants", [])
                ],
                kept=json.dumps({k: v for k, v in p.items() if k not in PRODUCT_KEYS}),
            )
        )
    ads = [
        AdForm(
            id=str(a.get("id", "")),
            kind=str(a.get("kind", "image")),
            url=str(a.get("url", "")),
            duration=f"{a.get('duration_s', 8):g}",
            text=_by_language(a.get("text", ""), languages),
            product=str(a.get("product", "")),
            variant=str(a.get("variant", "")),
            windows=_windows_text(a.get("windows")),
        )
        for a in document.get("ads", [])
    ]
    return CatalogueForm(languages, currency, products, ads)


def form_from_post(posted: MultiDictProxy[Any], stored: CatalogueForm) -> CatalogueForm:
    """The form as submitted (its languages and currency are the stored document's), minus removed items."""
    langs = stored.languages

    def text(key: str) -> str:
        return str(posted.get(key, "")).replace("\r\n", "\n").strip()

    def texts(prefix: str) -> dict[str, str]:
        return {lang: text(f"{prefix}-{lang}") for lang in langs}

    products = []
    for i in range(_count(posted, "p{}-sku")):
        p = f"p{i}"
        if posted.get(f"{p}-remove"):
            continue
        variants = [
            VariantForm(text(f"{p}-v{j}-sku"), texts(f"{p}-v{j}-name"), text(f"{p}-v{j}-colour"))
            for j in range(_count(posted, p + "-v{}-sku"))
            if not posted.get(f"{p}-v{j}-remove")
        ]
        products.append(
            ProductForm(
                sku=text(f"{p}-sku"),
                name=texts(f"{p}-name"),
                summary=texts(f"{p}-summary"),
                materials=texts(f"{p}-materials"),
                design_notes=texts(f"{p}-design_notes"),
                price=text(f"{p}-price"),
                online_only=bool(posted.get(f"{p}-online_only")),
                variants=variants,
                kept=str(posted.get(f"{p}-kept", "{}")),
            )
        )
    ads = [
        AdForm(
            id=text(f"a{i}-id"),
            kind=text(f"a{i}-kind"),
            url=text(f"a{i}-url"),
            duration=text(f"a{i}-duration"),
            text=texts(f"a{i}-text"),
            product=text(f"a{i}-product"),
            variant=text(f"a{i}-variant"),
            windows=text(f"a{i}-windows"),
        )
        for i in range(_count(posted, "a{}-id"))
        if not posted.get(f"a{i}-remove")
    ]
    order = [_order(posted.get(f"a{i}-order"), i) for i in range(_count(posted, "a{}-id"))]
    kept_order = [o for i, o in enumerate(order) if not posted.get(f"a{i}-remove")]
    ads = [ad for _, ad in sorted(zip(kept_order, ads, strict=True), key=lambda pair: pair[0])]
    return CatalogueForm(langs, stored.currency, products, ads)


def _count(posted: MultiDictProxy[Any], pattern: str) -> int:
    n = 0
    while pattern.format(n) in posted:
        n += 1
    return n


def _order(value: Any, index: int) -> tuple[float, int]:
    try:
        return float(str(value)), index
    except ValueError:
        return float(index + 1), index


def _localized(values: dict[str, str], languages: tuple[str, ...]) -> str | dict[str, str]:
    """The document's form: a plain string when only the fallback language has a text."""
    given = {lang: values.get(lang, "") for lang in languages if values.get(lang, "")}
    if set(given) <= {languages[0]}:
        return values.get(languages[0], "")
    return {languages[0]: values.get(languages[0], ""), **given}


def price_cents(typed: str, currency: str) -> int | None:
    """ "12.50" in EUR -> 1250; None when it is not an amount with at most the currency's decimals."""
    digits = minor_digits(currency)
    if not re.fullmatch(r"\d{1,9}" + (rf"(?:[.,]\d{{1,{digits}}})?" if digits else ""), typed):
        return None
    try:
        return int(Decimal(typed.replace(",", ".")).scaleb(digits))
    except InvalidOperation:
        return None


def parse_windows(typed: str) -> list[dict[str, Any]] | None:
    windows = []
    for line in (line.strip() for line in typed.splitlines()):
        if not line:
            continue
        match = WINDOW_RE.fullmatch(line)
        if not match:
            return None
        days: set[int] = set()
        for part in match[1].split(","):
            first, _, last = part.partition("-")
            days.update(range(int(first) - 1, int(last or first)))
        windows.append({"days": sorted(days), "start": match[2], "end": match[3]})
    return windows


def document_of(form: CatalogueForm, stored: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """The configuration the form describes (the stored one's other keys kept), and the problems found before
    the cabinet's own checks (field id -> message key)."""
    langs, problems = form.languages, {}
    products = []
    for i, p in enumerate(form.products):
        try:
            kept = json.loads(p.kept)
        except ValueError:
            kept = {}
        cents = price_cents(p.price, form.currency)
        if cents is None:
            problems[f"p{i}-price"] = "price_invalid"
        product: dict[str, Any] = {
            **(kept if isinstance(kept, dict) else {}),
            "sku": p.sku,
            "name": _localized(p.name, langs),
            "price_cents": cents if cents is not None else 1,
            "summary": _localized(p.summary, langs),
            "design_notes": _localized(p.design_notes, langs),
            "materials": _materials(p.materials, langs),
            "online_only": p.online_only,
        }
        if p.variants:
            product["variants"] = [
                {"sku": v.sku, "name": _localized(v.name, langs), **({"colour": v.colour} if v.colour else {})}
                for v in p.variants
            ]
        products.append(product)
    ads = []
    for i, a in enumerate(form.ads):
        windows = parse_windows(a.windows)
        if windows is None:
            problems[f"a{i}-windows"] = "windows_invalid"
        try:
            duration = float(a.duration)
        except ValueError:
            problems[f"a{i}-duration"] = "duration_invalid"
            duration = 1.0
        ad: dict[str, Any] = {"id": a.id, "kind": a.kind, "url": a.url, "duration_s": duration}
        ad.update({"text": _localized(a.text, langs)} if any(a.text.values()) else {})
        ad.update({"product": a.product} if a.product else {})
        ad.update({"variant": a.variant} if a.variant else {})
        ad.update({"windows": windows} if windows else {})
        ads.append(ad)
    return {**stored, "products": products, "ads": ads}, problems


def _materials(values: dict[str, str], languages: tuple[str, ...]) -> list[str | dict[str, str]]:
    """Line k of every language is material k."""
    lines = {lang: [line.strip() for line in values.get(lang, "").splitlines() if line.strip()] for lang in languages}
    count = len(lines[languages[0]])
    return [
        _localized({lang: (lines[lang][k] if k < len(lines[lang]) else "") for lang in languages}, languages)
        for k in range(count)
    ]


# --- errors next to their fields -------------------------------------------------------------------------
def field_for(problem_path: str, fields: set[str], fallback_language: str) -> str | None:
    """The form field a parse_config problem is about ("products[0].variants[1].sku" -> "p0-v1-sku"), or None
    when none of this form's fields holds it (the error is shown above the form)."""
    parts: list[str] = []
    for token in problem_path.split("."):
        match = re.fullmatch(r"(\w+)\[(\d+)\]", token)
        if match and match[1] in LISTS:
            parts.append(f"{LISTS[match[1]]}{match[2]}")
        elif match:
            parts.append(RENAMED.get(match[1], match[1]))
            if match[1] in WHOLE:
                break
        else:
            parts.append(RENAMED.get(token, token))
    for end in range(len(parts), 0, -1):
        for candidate in ("-".join(parts[:end]), "-".join([*parts[:end], fallback_language])):
            if candidate in fields:
                return candidate
    return None


def field_ids(form: CatalogueForm) -> set[str]:
    ids: set[str] = set()
    for i, p in enumerate(form.products):
        ids |= {f"p{i}-{name}" for name in ("sku", "price", "online_only")}
        ids |= {
            f"p{i}-{name}-{lang}"
            for name in ("name", "summary", "materials", "design_notes")
            for lang in form.languages
        }
        for j in range(len(p.variants)):
            ids |= {f"p{i}-v{j}-sku", f"p{i}-v{j}-colour"} | {f"p{i}-v{j}-name-{lang}" for lang in form.languages}
    for i in range(len(form.ads)):
        ids |= {f"a{i}-{name}" for name in ("id", "kind", "url", "duration", "product", "variant", "windows")}
        ids |= {f"a{i}-text-{lang}" for lang in form.languages}
    return ids


def place_problems(problems: list[Problem], form: CatalogueForm, lang: str) -> tuple[dict[str, list[str]], list[str]]:
    """parse_config's problems in ``lang`` by form field, and those no field holds (with their path)."""
    ids = field_ids(form)
    by_field: dict[str, list[str]] = {}
    general: list[str] = []
    for problem in problems:
        target = field_for(problem.where, ids, form.languages[0]) if problem.where else None
        if target is None:
            general.append(problem_text(problem, lang))
        else:
            by_field.setdefault(target, []).append(problem_message(problem, lang))
    return by_field, general


# --- pages -------------------------------------------------------------------------------------------------
async def _own_config(request: web.Request) -> tuple[str, dict[str, Any]]:
    """The cabinet of the signed-in user's retailer and its stored document (404 for another's)."""
    core, cabinet_id = request.app[CORE], request.match_info["cabinet_id"]
    cabinet = await core.db(core.store.cabinet, cabinet_id)
    if cabinet is None or cabinet["retailer"] != current_user(request).retailer:
        raise web.HTTPNotFound()
    found = await core.db(core.store.config, cabinet_id)
    return cabinet_id, found[1] if found else {"currency": "EUR", "products": []}


async def _media_choices(request: web.Request) -> list[dict[str, Any]]:
    core = request.app[CORE]
    return [m for m in await core.db(core.store.media_of, current_user(request).retailer) if m["kind"] in MEDIA_KINDS]


async def _page(
    request: web.Request,
    cabinet_id: str,
    form: CatalogueForm,
    *,
    status: int = 200,
    errors: dict[str, list[str]] | None = None,
    general: list[str] | None = None,
    saved: int | None = None,
) -> web.StreamResponse:
    context = {
        "cabinet_id": cabinet_id,
        "form": form,
        "errors": errors or {},
        "general": general or [],
        "saved": saved,
        "media": await _media_choices(request),
        "media_hash": media_hash,
        "kinds": MEDIA_KINDS,
        "max_price": MAX_PRICE_CENTS,
    }
    return aiohttp_jinja2.render_template("catalogue.html", request, context, status=status)


@routes.get("/catalogue", name="catalogue")
@requires(*EDITORS)
@aiohttp_jinja2.template("catalogue_cabinets.html")
async def cabinets(request: web.Request) -> dict[str, Any]:
    core, retailer = request.app[CORE], current_user(request).retailer
    ids, pages = await fetch_page(
        request, lambda limit, offset: core.db(core.store.cabinet_ids, retailer, limit=limit, offset=offset)
    )
    return {"cabinets": ids, "pager": pages}


@routes.get("/catalogue/{cabinet_id}", name="cabinet_catalogue")
@requires(*EDITORS)
async def catalogue(request: web.Request) -> web.StreamResponse:
    cabinet_id, document = await _own_config(request)
    saved = request.query.get("saved", "")
    return await _page(request, cabinet_id, form_of(document), saved=int(saved) if saved.isdigit() else None)


@routes.post("/catalogue/{cabinet_id}")
@requires(*EDITORS)
async def save(request: web.Request) -> web.StreamResponse:
    """Save the form as the cabinet's next configuration, or show it again with every problem at its field.
    The add buttons show the form with one more empty product, variant or ad, saving nothing."""
    cabinet_id, stored = await _own_config(request)
    posted = await request.post()
    form = form_from_post(posted, form_of(stored))
    add = str(posted.get("add", ""))
    if add == "product":
        form.products.append(ProductForm(variants=[]))
    elif add.startswith("variant-") and add[8:].isdigit() and int(add[8:]) < len(form.products):
        form.products[int(add[8:])].variants.append(VariantForm())
    elif add == "ad":
        form.ads.append(AdForm(id=f"ad-{len(form.ads) + 1}"))
    if add:
        return await _page(request, cabinet_id, form)
    document, local = document_of(form, stored)
    core, retailer, lang = request.app[CORE], current_user(request).retailer, language(request)
    t = translator(lang)
    problems = await config_problems(core, retailer, cabinet_id, document)
    if local or problems:
        errors, general = place_problems(problems, form, lang)
        for field_id, key in local.items():
            errors.setdefault(field_id, []).insert(0, t(key))
        return await _page(request, cabinet_id, form, status=422, errors=errors, general=general)
    try:
        version = await save_config(core, retailer, cabinet_id, document)
    except ConfigInvalid as exc:  # changed meanwhile (an order, a media file): shown above the form
        return await _page(request, cabinet_id, form, status=422, general=[problem_text(p, lang) for p in exc.details])
    url = request.app.router["cabinet_catalogue"].url_for(cabinet_id=cabinet_id).with_query(saved=str(version))
    raise web.HTTPSeeOther(url)
