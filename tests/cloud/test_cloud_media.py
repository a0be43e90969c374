"""The cloud's media: a retailer uploads files (kind checked, size bounded, stored by SHA-256), a configuration
names them, and only that retailer's cabinets download them."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from cloud_stub.media import MediaProblem, content_type, media_references
from sync_client.cabinet_config import MAX_MEDIA_BYTES, ConfigInvalid, parse_config
from sync_client.schema import sign_request
from tests.cloud.cloud_helpers import CAB, OTHER
from tests.media_files import write_media

PNG = b"\x89PNG\r\n\x1a\n" + bytes(40)
WAV = b"RIFF\x24\x00\x00\x00WAVEfmt " + bytes(40)


async def upload(cloud, body: bytes, kind: str = "image", retailer: str = "shop-a", token: str | None = None):
    headers = {"Authorization": f"Bearer {token if token is not None else cloud.tokens[retailer]}"}
    async with cloud.session.post(
        f"{cloud.url}/v1/retailer/media?kind={kind}&name=a/b/poster.png", data=body, headers=headers
    ) as resp:
        return resp.status, await resp.json()


async def download(cloud, digest: str, cabinet_id: str = CAB) -> tuple[int, bytes]:
    path = f"/v1/media/{digest}"
    headers = sign_request(cloud.keys[cabinet_id], cabinet_id, "GET", path, b"", now=cloud.clock.t)
    async with cloud.session.get(cloud.url + path, headers=headers) as resp:
        return resp.status, await resp.read()


async def test_an_upload_is_stored_by_its_hash_and_its_retailers_cabinet_downloads_it(cloud) -> None:
    status, record = await upload(cloud, PNG)
    digest = hashlib.sha256(PNG).hexdigest()
    assert status == 201 and record["sha256"] == digest and record["bytes"] == len(PNG)
    assert record["kind"] == "image" and record["content_type"] == "image/png" and record["name"] == "poster.png"
    assert (await upload(cloud, PNG))[0] == 200, "the same content again is the same file"
    listed = await cloud.retailer("GET", "/v1/retailer/media")
    assert [m["sha256"] for m in listed.body["media"]] == [digest]
    assert await download(cloud, digest) == (200, PNG)


async def test_another_retailers_media_are_absent_for_its_token_and_its_cabinets(cloud) -> None:
    await upload(cloud, PNG)
    digest = hashlib.sha256(PNG).hexdigest()
    status, body = await download(cloud, digest, cabinet_id=OTHER)
    assert status == 404 and b"no media" in body
    assert (await cloud.retailer("GET", "/v1/retailer/media", retailer="shop-b")).body == {"media": []}
    assert (await download(cloud, "z" * 64))[0] == 404


async def test_uploads_and_downloads_need_their_credentials(cloud) -> None:
    assert (await upload(cloud, PNG, token="not-a-token"))[0] == 401
    async with cloud.session.get(f"{cloud.url}/v1/media/{'0' * 64}") as resp:
        assert resp.status == 401, "an unsigned download"


async def test_each_kind_is_bounded_and_must_be_what_it_says(cloud) -> None:
    status, body = await upload(cloud, PNG + bytes(MAX_MEDIA_BYTES["image"]))
    assert status == 413 and str(MAX_MEDIA_BYTES["image"]) in body["error"]
    status, body = await upload(cloud, WAV, kind="image")
    assert status == 400 and "PNG or JPEG" in body["error"]
    assert (await upload(cloud, WAV, kind="audio"))[0] == 201
    assert (await upload(cloud, PNG, kind="poster"))[0] == 400
    assert (await upload(cloud, b"", kind="image"))[0] == 400
    # a video larger than the app's 8 MiB body limit for other routes is taken up to its own limit
    mp4 = b"\x00\x00\x00\x18ftypmp42" + bytes(9 * 2**20)
    assert (await upload(cloud, mp4, kind="video"))[0] == 201


async def test_a_configuration_may_name_only_media_its_retailer_uploaded(cloud) -> None:
    await upload(cloud, PNG)
    theirs = b"\xff\xd8\xff" + bytes(20)
    await upload(cloud, theirs, retailer="shop-b")
    config = {
        "currency": "EUR",
        "products": [{"sku": "BIKE-C7", "name": "Cruiser", "price_cents": 129900}],
        "ads": [{"id": "a", "kind": "image", "url": f"sha256:{hashlib.sha256(PNG).hexdigest()}", "duration_s": 5}],
    }
    assert (await cloud.retailer("PUT", f"/v1/retailer/cabinets/{CAB}/config", config)).status == 200
    config["ads"][0]["url"] = f"sha256:{hashlib.sha256(theirs).hexdigest()}"
    refused = await cloud.retailer("PUT", f"/v1/retailer/cabinets/{CAB}/config", config)
    assert refused.status == 422 and refused.body["error"].startswith("ads[0].url: no uploaded media file")


def test_a_malformed_media_reference_is_refused_naming_its_field() -> None:
    document = {
        "version": 1,
        "currency": "EUR",
        "products": [{"sku": "A", "name": "A", "price_cents": 100}],
        "ads": [{"id": "a", "kind": "image", "url": "sha256:ABC", "duration_s": 5}],
    }
    try:
        parse_config(document)
    except ConfigInvalid as exc:
        assert exc.problems == [
            "ads[0].url: expected sha256: and the 64 lower-case hex digits of an uploaded file, got 'sha256:ABC'"
        ]
    else:
        raise AssertionError("accepted")


@given(st.sampled_from(["image", "video", "audio", "x"]), st.binary(max_size=64))
def test_any_bytes_are_accepted_as_their_kind_or_refused_with_a_reason(kind: str, data: bytes) -> None:
    try:
        found = content_type(kind, data)
    except MediaProblem as exc:
        assert str(exc) and exc.key.startswith("media_")
    else:
        assert found.startswith(kind + "/")


def test_narration_recordings_in_the_formats_the_cabinet_plays_are_taken_as_their_kind(tmp_path) -> None:
    made = {
        "voice.ogg": ("audio", "audio/ogg", {"audio": "libopus"}),
        "voice.mp3": ("audio", "audio/mpeg", {"audio": "libmp3lame"}),
        "voice.m4a": ("audio", "audio/mp4", {"audio": "aac"}),
        "film.mkv": ("video", "video/webm", {"video": "libvpx", "audio": "libopus"}),  # Matroska: WebM's header
        "film.mp4": ("video", "video/mp4", {"video": "libx264", "audio": "aac"}),
    }
    for name, (kind, found, codecs) in made.items():
        data = write_media(tmp_path / name, seconds=0.3, **codecs).read_bytes()
        assert content_type(kind, data) == found, name
    m4a = (tmp_path / "voice.m4a").read_bytes()
    try:
        content_type("video", m4a)
    except MediaProblem as exc:
        assert exc.key == "media_not_kind", "a sound file is not a video"
    else:
        raise AssertionError("an M4A taken as a video")
    ref = "sha256:" + "cd" * 32
    document = {"products": [{"narration": {"zh": {"video_url": ref}}}]}
    assert media_references(document) == [("products[0].narration.zh.video_url", "cd" * 32)]
