"""A retailer's content in the shopper's language: the screens' views carry the configuration's Chinese
product texts and ad texts, the fallback language's where a translation is missing, and the cabinet says
what is missing or cannot be drawn."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path

import pytest

from firmware.cloud_config import content_report, sim_document
from firmware.config import Config
from kiosk_ui.intents import SelectProduct, Start, ToggleLanguage
from kiosk_ui.view import AttractScreen, CatalogScreen, ProductScreen
from sync_client.cabinet_config import parse_config
from tests.firmware.cabinet_rig import Cabinets, cabinets  # noqa: F401  (fixture)
from tests.firmware.test_config import run_kiosk


async def test_every_screen_shows_the_products_and_ads_in_the_shoppers_language(cabinets: Cabinets) -> None:  # noqa: F811
    cabinet = await cabinets.boot()
    cabinet.apply_cloud_config(parse_config(sim_document(Config())))
    attract = cabinet.view_state()
    assert isinstance(attract, AttractScreen)
    assert attract.products[0].name == "Volt S1 e-scooter" and attract.ads[0].text == "Glide through the city"
    cabinet.handle_intent(ToggleLanguage())
    attract = cabinet.view_state()
    assert isinstance(attract, AttractScreen)
    assert [p.name for p in attract.products] == ["Volt S1 电动滑板车", "Cruiser C7 电助力自行车"]
    assert [a.text for a in attract.ads] == ["轻松穿行城市", "您的座驾已就绪"]
    cabinet.handle_intent(Start())
    catalog = cabinet.view_state()
    assert isinstance(catalog, CatalogScreen) and catalog.products[1].summary == "低跨式电助力自行车，7 速，皮带传动"
    cabinet.handle_intent(SelectProduct("SCOOT-S1"))
    product = cabinet.view_state()
    assert isinstance(product, ProductScreen)
    assert product.product.materials == "铝合金车架、再生橡胶握把"
    assert product.product.design_notes == "数秒即可折叠或上锁；车灯嵌入车架。"
    assert [(v.sku, v.name, v.hex) for v in product.product.variants] == [
        ("SCOOT-S1-SIG", "经典色", "#1f8a70"),  # each variant named in Chinese, its swatch as the fallback's
        ("SCOOT-S1-GRA", "石墨灰", "#4a4f57"),
        ("SCOOT-S1-SIL", "银色", "#c0c6cf"),
    ]
    cabinet.handle_intent(ToggleLanguage())  # back to English on the same screen
    product = cabinet.view_state()
    assert isinstance(product, ProductScreen) and product.product.variants[1].name == "Graphite"


async def test_a_missing_translation_shows_the_fallback_and_is_reported(
    cabinets: Cabinets,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    document = copy.deepcopy(sim_document(Config()))
    document["products"][1]["summary"] = "Step-through e-bike"  # English only
    del document["ads"][0]["text"]["zh"]
    config = parse_config(document)
    assert content_report(config) == [
        "products[1] (BIKE-C7).summary: no zh text; the en text is shown instead",
        "ads[0] (ad-scoot-s1).text: no zh text; the en text is shown instead",
    ]
    cabinet = await cabinets.boot()
    with caplog.at_level(logging.WARNING):
        cabinet.apply_cloud_config(config)
    assert "products[1] (BIKE-C7).summary: no zh text" in caplog.text
    cabinet.handle_intent(ToggleLanguage())
    attract = cabinet.view_state()
    assert isinstance(attract, AttractScreen)
    assert (
        attract.products[1].summary == "Step-through e-bike" and attract.products[1].name == "Cruiser C7 电助力自行车"
    )
    assert attract.ads[0].text == "Glide through the city"


def test_characters_no_font_here_can_draw_are_named_with_product_and_field() -> None:
    document = sim_document(Config())
    document["products"][0]["name"] = {"en": "Volt S1", "zh": "Volt S1 \U00030000滑板车"}  # CJK Extension G
    report = content_report(parse_config(document))
    assert report == [
        "products[0] (SCOOT-S1).name.zh: no font on this cabinet draws '\U00030000' (shown as empty boxes)"
    ]


def test_kiosk_config_check_reads_a_configuration_document_and_lists_what_the_shopper_would_miss(
    tmp_path: Path,
) -> None:
    document = sim_document(Config())
    document["products"][0]["summary"] = "Foldable"  # no Chinese
    document["products"][1]["name"]["zh"] = "Cruiser \U00030000"  # a character no font here has
    path = tmp_path / "cabinet.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    result = run_kiosk("config", "check", str(path), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"{path}: ok, 2 warnings" in result.stdout
    assert "warning: products[0] (SCOOT-S1).summary: no zh text; the en text is shown instead" in result.stderr
    assert "warning: products[1] (BIKE-C7).name.zh: no font on this cabinet draws" in result.stderr
    document["products"][0]["name"] = {"en": "Volt", "de": "Roller"}
    path.write_text(json.dumps(document), encoding="utf-8")
    result = run_kiosk("config", "check", str(path), cwd=tmp_path)
    assert result.returncode == 1
    assert "products[0].name.de: language not declared in languages (declared: en, zh)" in result.stderr
