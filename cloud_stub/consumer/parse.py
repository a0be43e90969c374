"""The consumer pages' parsers of outside input: link codes, receipt tokens, ticket numbers, phone digits and
positions. Each returns None for anything it does not accept (never raises): the page then answers as if
nothing had been found."""

from __future__ import annotations

import math
import re

from sync_client.cabinet_config import LINK_CODE_RE
from sync_client.schema import FORM_TOKEN_RE, receipt_token_reference

TICKET_RE = re.compile(r"R-[A-Z0-9]{4,12}")
MAX_INPUT_CHARS = 64  # longer than any field here: refused before any work
MAX_FORM_CHARS = 1000  # a phone form's field: longer than any accepted value, cut before the checks


def link_code(text: str) -> str | None:
    """A QR hand-off code (lower-case base32, as printed)."""
    return text if len(text) <= MAX_INPUT_CHARS and LINK_CODE_RE.fullmatch(text) else None


def receipt_token(text: str) -> str | None:
    return text if len(text) <= MAX_INPUT_CHARS and receipt_token_reference(text) else None


def form_token(text: str) -> str | None:
    """The token of a form the cabinet offers on a phone (/f/<token>)."""
    return text if FORM_TOKEN_RE.fullmatch(text) else None


def ticket_number(text: str) -> str | None:
    """A repair ticket's number as a person types it: any case, spaces, the R- optional ("r-abc234", "ABC 234")."""
    if len(text) > MAX_INPUT_CHARS:
        return None
    squeezed = re.sub(r"\s+", "", text).upper()
    ticket = squeezed if squeezed.startswith("R-") else "R-" + squeezed
    return ticket if TICKET_RE.fullmatch(ticket) else None


def phone_end(text: str) -> str | None:
    """The last four digits of a phone number: exactly four ASCII digits (spaces allowed between them)."""
    if len(text) > MAX_INPUT_CHARS:
        return None
    digits = re.sub(r"\s+", "", text)
    return digits if re.fullmatch(r"[0-9]{4}", digits) else None


def position(lat: str, lon: str) -> tuple[float, float] | None:
    """WGS 84 degrees from query text: finite, latitude within ±90, longitude within ±180."""
    if len(lat) > MAX_INPUT_CHARS or len(lon) > MAX_INPUT_CHARS:
        return None
    try:
        la, lo = float(lat), float(lon)
    except ValueError:
        return None
    if not (math.isfinite(la) and math.isfinite(lo) and -90 <= la <= 90 and -180 <= lo <= 180):
        return None
    return la, lo
