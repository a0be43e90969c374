"""Media a retailer uploads (ad pictures and videos, narration recordings): what is accepted, and which
uploads a configuration names.

A file is stored under the SHA-256 of its content, for its retailer only, at most
``MAX_MEDIA_BYTES[kind]`` (image 5 MiB, audio 10 MiB, video 40 MiB), and only when its first bytes are
what its kind says (PNG or JPEG; MP4, WebM or MKV; WAV, OGG, MP3 or M4A): the cabinet plays these. A
configuration names an upload as ``sha256:<hex>``; the cabinets of that retailer download it
(``GET /v1/media/{sha256}``).
"""

from __future__ import annotations

import re
from typing import Any

from cloud_stub.core import Core, Refused
from sync_client.cabinet_config import MAX_MEDIA_BYTES, Problem, media_hash

MEDIA_KINDS = tuple(MAX_MEDIA_BYTES)
MAX_NAME_CHARS = 120
SHA256_RE = re.compile(r"[0-9a-f]{64}")


class MediaProblem(Exception):
    """An upload that is refused; ``key`` names the console's message, the text says it for an API client."""

    def __init__(self, key: str, detail: str, limit_mib: int = 0) -> None:
        super().__init__(detail)
        self.key = key
        self.limit_mib = limit_mib


def content_type(kind: str, data: bytes) -> str:
    """The content's MIME type when its first bytes fit ``kind``; MediaProblem otherwise."""
    if kind not in MAX_MEDIA_BYTES:
        raise MediaProblem("media_kind_unknown", f"kind: expected one of {', '.join(MEDIA_KINDS)}, got {kind[:20]!r}")
    limit = MAX_MEDIA_BYTES[kind]
    if len(data) > limit:
        raise MediaProblem(
            "media_too_large", f"body: {len(data)} bytes, over the {limit} byte limit for {kind}", limit // 2**20
        )
    if not data:
        raise MediaProblem("media_empty", "body: empty")
    found = _sniff(data)
    if found is None or not found.startswith(kind + "/"):
        raise MediaProblem("media_not_kind", f"body: not a {kind} this cabinet plays ({_PLAYED[kind]})")
    return found


_PLAYED = {"image": "PNG or JPEG", "video": "MP4, WebM or MKV", "audio": "WAV, OGG, MP3 or M4A"}


def _sniff(data: bytes) -> str | None:
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[4:8] == b"ftyp":
        return "audio/mp4" if data[8:12] == b"M4A " else "video/mp4"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "video/webm"
    if data.startswith(b"RIFF") and data[8:12] == b"WAVE":
        return "audio/wav"
    if data.startswith(b"OggS"):
        return "audio/ogg"
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg"  # MP3: a tag first, or straight a frame's sync bits
    return None


def clean_name(name: str) -> str:
    """The uploaded file's name as people see it: its last path part, printable, bounded."""
    last = re.split(r"[/\\]", name)[-1]
    return "".join(c for c in last if c.isprintable())[:MAX_NAME_CHARS] or "upload"


async def add_media(
    core: Core, retailer: str, kind: str, name: str, data: bytes, created_by: str | None
) -> dict[str, Any]:
    """Check and store one upload; its record with ``created`` (False: the same content was there)."""
    found_type = content_type(kind, data)
    record, created = await core.db(
        core.store.put_media, retailer, kind, found_type, clean_name(name), data, created_by=created_by, now=core.now()
    )
    return {**record, "created": created}


def media_references(document: dict[str, Any]) -> list[tuple[str, str]]:
    """(where, sha256) of every uploaded file a configuration document names."""
    found: list[tuple[str, str]] = []

    def note(where: str, url: Any) -> None:
        if isinstance(url, str) and (digest := media_hash(url)):
            found.append((where, digest))

    for i, ad in enumerate(_dicts(document.get("ads"))):
        note(f"ads[{i}].url", ad.get("url"))
    for i, product in enumerate(_dicts(document.get("products"))):
        for j, item in enumerate(_dicts(product.get("media"))):
            note(f"products[{i}].media[{j}].url", item.get("url"))
        narration = product.get("narration")
        for language, source in narration.items() if isinstance(narration, dict) else ():
            if isinstance(source, dict):
                for key in ("audio_url", "video_url"):
                    note(f"products[{i}].narration.{language}.{key}", source.get(key))
    return found


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


async def missing_media(core: Core, retailer: str, document: dict[str, Any]) -> list[Problem]:
    """Problems (as parse_config's) for media the document names that the retailer never uploaded."""
    references = media_references(document)
    if not references:
        return []
    known = {m["sha256"] for m in await core.db(core.store.media_of, retailer)}
    return [
        Problem.of(where, "media_missing", digest=digest[:12]) for where, digest in references if digest not in known
    ]


async def media_for_cabinet(core: Core, cabinet_id: str, sha256: str) -> tuple[dict[str, Any], bytes]:
    """An upload of the cabinet's retailer; Refused(404) for any other (another retailer's is not there)."""
    cabinet = await core.db(core.store.cabinet, cabinet_id)
    found = None
    if cabinet is not None and cabinet["retailer"] and SHA256_RE.fullmatch(sha256):
        found = await core.db(core.store.media_content, cabinet["retailer"], sha256)
    if found is None:
        raise Refused(404, f"sha256: no media {sha256[:64]!r} for this cabinet's retailer")
    return found
