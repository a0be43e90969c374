"""What the cabinet takes from the cloud's configuration: ads due now, with media that is here."""

import datetime as dt

from firmware.cloud_config import ad_is_due, ads_due, playable_ads, sim_document
from firmware.config import Config
from sync_client.cabinet_config import Ad, AdWindow, parse_config

MONDAY_10 = dt.datetime(2026, 11, 23, 10, 0)  # a Monday


def test_schedule_windows_including_one_across_midnight():
    lunch = Ad("a", "image", "ads/urban-glide.png", 6, (AdWindow((0,), "11:30", "14:00"),))
    night = Ad("b", "image", "ads/urban-glide.png", 6, (AdWindow((6,), "22:00", "02:00"),))  # Sunday night
    assert not ad_is_due(lunch, MONDAY_10)
    assert ad_is_due(lunch, MONDAY_10.replace(hour=12))
    assert ad_is_due(night, MONDAY_10.replace(hour=1))  # Monday 01:00 belongs to Sunday's window
    assert not ad_is_due(night, MONDAY_10.replace(hour=3))
    assert ad_is_due(Ad("c", "image", "x.png", 6), MONDAY_10), "no windows: always"


def test_only_ads_with_local_media_play_and_the_simulation_document_is_valid():
    document = sim_document(Config())
    document["ads"] += [
        {"id": "remote", "kind": "image", "url": "https://cdn.example/ad.png", "duration_s": 5},
        {"id": "missing", "kind": "image", "url": "ads/nope.png", "duration_s": 5},
    ]
    config = parse_config(document)
    playable, _ = playable_ads(config)
    assert [view.id for _, view in playable] == ["ad-scoot-s1", "ad-bike-c7"]
    assert [view.id for view in ads_due(playable, MONDAY_10)] == ["ad-scoot-s1", "ad-bike-c7"]
    assert dict(config.products[0].specs)["range"] == "35 km"


def test_the_simulation_advertises_only_what_it_sells_in_variants_it_counts():
    config = Config()
    document = parse_config(sim_document(config))
    sold = {p.sku for p in config.products}
    assert [(ad.id, ad.product) for ad in document.ads] == [("ad-scoot-s1", "SCOOT-S1"), ("ad-bike-c7", "BIKE-C7")]
    assert {p.sku for p in document.products} == sold
    assert [v.name.in_(lang) for lang in ("en", "zh") for v in document.product("SCOOT-S1").sold_variants()] == [
        "Signature",
        "Graphite",
        "Silver",
        "经典色",
        "石墨灰",
        "银色",
    ]
    config.products = config.products[1:]  # a cabinet that does not sell the scooter shows no ad for it
    assert [ad.product for ad in parse_config(sim_document(config)).ads] == ["BIKE-C7"]
