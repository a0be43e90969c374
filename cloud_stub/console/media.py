"""The retailer's media: upload pictures, videos and narration recordings to the cloud (stored by content
hash, limits by kind in cloud_stub/media.py), list them with the reference a configuration names them by.

The console takes a file of at most the app's body limit (8 MiB) in one form post; larger videos go
through the API (``POST /v1/retailer/media``), which reads up to the kind's limit.
"""

from __future__ import annotations

from typing import Any

import aiohttp_jinja2
from aiohttp import web

from cloud_stub.console.auth import CORE, NavItem, current_user, requires
from cloud_stub.console.i18n import language, translator
from cloud_stub.core import form_files
from cloud_stub.media import MEDIA_KINDS, SHA256_RE, MediaProblem, add_media
from sync_client.cabinet_config import MAX_MEDIA_BYTES

routes = web.RouteTableDef()
nav = (NavItem("media", "nav_media", ("owner", "staff")),)
EDITORS = ("owner", "staff")


async def _page(request: web.Request, status: int = 200, **context: Any) -> web.StreamResponse:
    core = request.app[CORE]
    listed = await core.db(core.store.media_of, current_user(request).retailer)
    context = {
        "media": listed,
        "kinds": MEDIA_KINDS,
        "limits": MAX_MEDIA_BYTES,
        "error": None,
        "stored": None,
        **context,
    }
    return aiohttp_jinja2.render_template("media.html", request, context, status=status)


@routes.get("/media", name="media")
@requires(*EDITORS)
async def media(request: web.Request) -> web.StreamResponse:
    return await _page(request)


@routes.post("/media")
@form_files("file")
@requires(*EDITORS)
async def upload(request: web.Request) -> web.StreamResponse:
    posted = await request.post()
    kind, upload = str(posted.get("kind", "")), posted.get("file")
    t = translator(language(request))
    if not isinstance(upload, web.FileField):
        return await _page(request, 400, error=t("media_no_file"))
    data = upload.file.read()
    user = current_user(request)
    try:
        record = await add_media(request.app[CORE], user.retailer, kind, upload.filename, data, user.email)
    except MediaProblem as exc:
        return await _page(request, 413 if exc.key == "media_too_large" else 400, error=t(exc.key, mib=exc.limit_mib))
    return await _page(request, 201 if record["created"] else 200, stored=record)


@routes.get("/media/{sha256}", name="media_file")
@requires(*EDITORS)
async def media_file(request: web.Request) -> web.StreamResponse:
    """An upload's content, for its preview; 404 for another retailer's."""
    core, sha256 = request.app[CORE], request.match_info["sha256"]
    found = (
        await core.db(core.store.media_content, current_user(request).retailer, sha256)
        if SHA256_RE.fullmatch(sha256)
        else None
    )
    if found is None:
        raise web.HTTPNotFound()
    record, content = found
    return web.Response(body=content, content_type=record["content_type"])
