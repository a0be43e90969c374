"""The cabinet's media fetcher against a real cloud on loopback: uploads downloaded by hash, checked,
cached whole; wrong bytes, oversized files and outages leave the cache (and the ads playing) as they were."""

from __future__ import annotations

import datetime as dt
import hashlib
import sqlite3
from pathlib import Path

import pytest

from cloud_stub.server import start_cloud
from firmware.catalog import Catalog
from firmware.config import Config
from firmware.config_in_force import ConfigInForce
from sync_client.cabinet_config import MAX_MEDIA_BYTES, media_ref, parse_config
from sync_client.cloud_client import CloudRefused, CloudUnavailable
from sync_client.media_fetch import MediaCache, MediaFetcher, MediaMismatch, MediaNeed, needed_media

PNG = b"\x89PNG\r\n\x1a\n"


def picture(tag: bytes) -> bytes:
    return PNG + tag + bytes(32)


def upload(site, content: bytes, retailer: str = "shop-a", kind: str = "image") -> str:
    record, _ = site.store.put_media(retailer, kind, "image/png", "poster.png", content)
    return str(record["sha256"])


def document(version: int, *urls: str) -> dict:
    return {
        "version": version,
        "currency": "EUR",
        "products": [{"sku": "BIKE-C7", "name": "Cruiser", "price_cents": 129900}],
        "ads": [
            {"id": f"ad-{i}", "kind": "image", "url": url, "duration_s": 5, "product": "BIKE-C7"}
            for i, url in enumerate(urls)
        ],
    }


@pytest.fixture
def cache(tmp_path: Path) -> MediaCache:
    return MediaCache(tmp_path / "data" / "media")


async def test_a_named_upload_is_downloaded_checked_and_cached_under_its_hash(site, cache) -> None:
    content = picture(b"one")
    digest = upload(site, content)
    arrived: list[int] = []
    fetcher = MediaFetcher(site.client, cache, on_fetched=lambda: arrived.append(1))
    fetcher.want(needed_media(parse_config(document(1, media_ref(digest)))))
    assert await fetcher.fetch() == 1
    assert cache.path(digest).read_bytes() == content
    assert hashlib.sha256(cache.path(digest).read_bytes()).hexdigest() == digest
    assert arrived == [1] and fetcher.failures == {}
    assert await fetcher.fetch() == 0, "a cached file is not downloaded again"


async def test_bytes_that_do_not_fit_their_hash_are_refused_and_the_old_file_is_kept(site, cache) -> None:
    old, new = picture(b"old"), picture(b"new")
    old_digest, new_digest = upload(site, old), upload(site, new)
    fetcher = MediaFetcher(site.client, cache)
    fetcher.want([MediaNeed(old_digest, "image")])
    await fetcher.fetch()
    # The cloud's copy is corrupted (a disk error, a tampering proxy would look the same to the cabinet).
    with sqlite3.connect(site.store.path) as conn:
        conn.execute("UPDATE media SET content = ? WHERE sha256 = ?", (picture(b"evil"), new_digest))
    fetcher.want([MediaNeed(old_digest, "image"), MediaNeed(new_digest, "image")])
    assert await fetcher.fetch() == 0
    assert not cache.has(new_digest) and not list(cache.directory.glob("*.part"))
    assert cache.path(old_digest).read_bytes() == old, "the file cached before is untouched"
    assert "hashing to" in fetcher.failures[new_digest]
    with pytest.raises(MediaMismatch):
        cache.store(new_digest, picture(b"evil"))


async def test_a_file_over_its_kinds_limit_is_not_downloaded(site, cache) -> None:
    # Stored around the upload checks: a cloud (or a man in the middle) sending more than the kind allows.
    digest = upload(site, PNG + bytes(MAX_MEDIA_BYTES["image"]))
    with pytest.raises(CloudRefused) as refused:
        await site.client.download(f"v1/media/{digest}", MAX_MEDIA_BYTES["image"])
    assert refused.value.status == 413
    fetcher = MediaFetcher(site.client, cache)
    fetcher.want([MediaNeed(digest, "image")])
    assert await fetcher.fetch() == 0
    assert not cache.has(digest) and "limit" in fetcher.failures[digest]


async def test_another_retailers_upload_is_not_served_to_this_cabinet(site, cache) -> None:
    site.store.add_retailer("shop-b")
    digest = upload(site, picture(b"theirs"), retailer="shop-b")
    with pytest.raises(CloudRefused) as refused:
        await site.client.download(f"v1/media/{digest}", 1000)
    assert refused.value.status == 404


async def test_a_failed_download_keeps_the_last_good_ads_playing_until_the_new_set_is_whole(
    site, cache, tmp_path
) -> None:
    a, b = picture(b"a"), picture(b"b")
    digest_a, digest_b = upload(site, a), hashlib.sha256(b).hexdigest()  # b not uploaded yet
    in_force = ConfigInForce(
        Catalog(site.outbox, Config().products), Config().retailer, now=lambda: dt.datetime(2026, 5, 4, 12), media=cache
    )
    fetcher = MediaFetcher(site.client, cache, on_fetched=in_force.media_arrived)
    first = parse_config(document(1, media_ref(digest_a)))
    in_force.apply(first)
    assert in_force.ads_due() == () and in_force.missing_ads == ("ad-0",), "nothing downloaded yet"
    fetcher.want(needed_media(first))
    await fetcher.fetch()
    assert [ad.path for ad in in_force.ads_due()] == [str(cache.path(digest_a))]

    second = parse_config(document(2, media_ref(digest_b), media_ref(digest_a)))
    in_force.apply(second)
    fetcher.want(needed_media(second))
    await fetcher.fetch()  # b: 404, the retailer has not uploaded it yet
    assert digest_b in fetcher.failures
    assert [ad.path for ad in in_force.ads_due()] == [str(cache.path(digest_a))], "the last good set plays"
    assert in_force.missing_ads == ("ad-0",)

    upload(site, b)
    await fetcher.fetch()
    assert [ad.path for ad in in_force.ads_due()] == [str(cache.path(digest_b)), str(cache.path(digest_a))]
    assert fetcher.failures == {} and in_force.missing_ads == ()


async def test_downloads_resume_when_the_cloud_comes_back(site, cache) -> None:
    content = picture(b"later")
    digest = upload(site, content)
    port = int(site.url.rsplit(":", 1)[1])
    await site.runner.cleanup()  # the cloud goes away
    site.runner = None
    fetcher = MediaFetcher(site.client, cache)
    fetcher.want([MediaNeed(digest, "image")])
    with pytest.raises(CloudUnavailable):
        await fetcher.fetch()
    assert not cache.has(digest) and digest in fetcher.failures
    site.runner, _ = await start_cloud(site.store, port=port)  # back, on the same address
    assert await fetcher.fetch() == 1
    assert cache.path(digest).read_bytes() == content and fetcher.failures == {}


def test_files_no_configuration_needs_are_pruned_and_part_files_with_them(cache) -> None:
    keep = cache.store(hashlib.sha256(b"keep").hexdigest(), b"keep")
    gone = cache.store(hashlib.sha256(b"gone").hexdigest(), b"gone")
    (cache.directory / "x.123.part").write_bytes(b"half")
    cache.prune([keep.name])
    assert keep.exists() and not gone.exists() and not (cache.directory / "x.123.part").exists()


async def test_a_products_uploaded_picture_shows_once_downloaded(site, cache) -> None:
    content = picture(b"frame")
    digest = upload(site, content)
    doc = document(1)
    doc["products"][0]["media"] = [{"kind": "image", "url": media_ref(digest)}]
    catalog = Catalog(site.outbox, Config().products)
    in_force = ConfigInForce(catalog, Config().retailer, media=cache)
    fetcher = MediaFetcher(site.client, cache, on_fetched=in_force.media_arrived)
    config = parse_config(doc)
    in_force.apply(config)
    assert catalog.products["BIKE-C7"].images == (), "not downloaded yet: no broken picture"
    fetcher.want(needed_media(config))
    await fetcher.fetch()
    assert catalog.products["BIKE-C7"].images == (str(cache.path(digest)),)
