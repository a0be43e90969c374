#!/usr/bin/env python3
"""Regenerate the touchscreen's CJK font subset from Debian's fonts-noto-cjk.

The cabinet ships only the glyphs its texts use (printable ASCII, every
string in kiosk_ui/i18n.py, currency signs, every key of the text keyboard),
cut from Noto Sans CJK SC:
a few hundred kilobytes instead of tens of megabytes. Run it after changing
a text:

    apt-get install fonts-noto-cjk       # once
    .venv/bin/python scripts/subset_cjk_font.py

It writes kiosk_ui/assets/fonts/NotoSansSC-subset.otf (Regular),
NotoSansSC-Bold-subset.otf and OFL.txt (the font's licence).

A retailer's content is not known here: the screen draws text the subset lacks
with the full font of fonts-noto-cjk on the cabinet (kiosk_ui/theme.py), and
`kiosk config check` names what no font there can draw.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from fontTools import subset
from fontTools.ttLib import TTCollection

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from kiosk_ui.entry import TEXT_KEY_CHARACTERS  # noqa: E402
from kiosk_ui.i18n import font_characters  # noqa: E402

DEBIAN_FONTS = Path("/usr/share/fonts/opentype/noto")
DEBIAN_COPYRIGHT = Path("/usr/share/doc/fonts-noto-cjk/copyright")
OUT_DIR = ROOT / "kiosk_ui" / "assets" / "fonts"
# (collection in the Debian package, file written here)
WEIGHTS = (("NotoSansCJK-Regular.ttc", "NotoSansSC-subset.otf"), ("NotoSansCJK-Bold.ttc", "NotoSansSC-Bold-subset.otf"))
FAMILY = "Noto Sans CJK SC"


def simplified_chinese_font(collection: Path):
    """The Simplified Chinese member of a Noto CJK collection (JP, KR, SC, TC, HK...)."""
    for font in TTCollection(collection).fonts:
        if font["name"].getDebugName(1) == FAMILY:
            return font
    raise SystemExit(f"{collection} holds no {FAMILY!r} font")


def write_subset(collection: Path, out: Path, text: str) -> str:
    font = simplified_chinese_font(collection)
    options = subset.Options()
    options.layout_features = ["*"]  # keep kerning and punctuation alternates
    options.name_IDs = ["*"]  # keep copyright and licence records
    options.hinting = False  # rendered large on a screen; hints only add bytes
    options.notdef_outline = True
    subsetter = subset.Subsetter(options)
    subsetter.populate(text=text)
    subsetter.subset(font)
    font.save(out)
    return font["name"].getDebugName(0) or ""


def licence_text(copyright_notice: str) -> str:
    """The SIL OFL 1.1 text as Debian records it, with the font's copyright line on top."""
    lines = DEBIAN_COPYRIGHT.read_text(encoding="utf-8").splitlines()
    # The standalone licence paragraph is the last "License: SIL-1.1" line (the first names the files).
    start = len(lines) - lines[::-1].index("License: SIL-1.1")
    body = []
    for line in lines[start:]:
        if not line.startswith(" "):
            break
        body.append("" if line.strip() == "." else line[1:])
    return (
        f"{copyright_notice}\n\nThe files NotoSansSC-*subset.otf beside this file are subsets of "
        f"{FAMILY} (Regular and Bold) from Debian's fonts-noto-cjk package, made by "
        "scripts/subset_cjk_font.py.\n\n" + "\n".join(body).strip() + "\n"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fonts", type=Path, default=DEBIAN_FONTS, help="folder with the Noto CJK .ttc files")
    parser.add_argument("--out", type=Path, default=OUT_DIR)
    args = parser.parse_args(argv)
    text = "".join(sorted(set(font_characters() + TEXT_KEY_CHARACTERS)))
    args.out.mkdir(parents=True, exist_ok=True)
    notice = ""
    for source, target in WEIGHTS:
        collection = args.fonts / source
        if not collection.exists():
            raise SystemExit(f"{collection} not found: apt-get install fonts-noto-cjk")
        notice = write_subset(collection, args.out / target, text)
        print(f"{args.out / target}: {len(text)} characters, {(args.out / target).stat().st_size} bytes")
    (args.out / "OFL.txt").write_text(licence_text(notice), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
