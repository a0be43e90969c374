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
    playable = playable_ads(config)
    assert [view.id for _, view in playable] == ["ad-urban-glide", "ad-city-cruiser"]
    assert [view.id for view in ads_due(playable, MONDAY_10)] == ["ad-urban-glide", "ad-city-cruiser"]
    assert dict(config.products[0].specs)["range"] == "35 km"
