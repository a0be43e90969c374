"""The release index the cabinet reads (``releases.json``): signed, but parsed as the outside bytes it is."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware.updater.service import newer_release

GOOD: dict[str, Any] = {
    "latest": "1.2.0",
    "releases": {"1.2.0": {"wheel": "1.2.0/k.whl", "lockboard": ["1.2.0/lockboard/main.py"]}},
}


def test_the_latest_release_when_newer_else_none() -> None:
    data = json.dumps(GOOD).encode()
    assert newer_release(data, "1.1.9") == ("1.2.0", "1.2.0/k.whl", ["1.2.0/lockboard/main.py"], [])
    assert newer_release(data, "1.2.0") is None
    assert newer_release(data, "1.10.0") is None  # versions compare as versions, not as text
    assert newer_release(b'{"latest": null, "releases": {}}', "1.0.0") is None


@pytest.mark.parametrize(
    ("document", "named"),
    [
        (b"[1, 2", "releases.json: not JSON"),
        (b'{"latest": 7}', "releases.json: latest: 7 is not a version number"),
        (b'{"latest": "one"}', "releases.json: latest: 'one' is not a version number"),
        (b'{"latest": "2.0", "releases": {}}', "releases.json: releases.2.0: expected"),
        (b'{"latest": "2.0", "releases": {"2.0": {"wheel": "w", "lockboard": [3]}}}', "releases.json: releases.2.0"),
        (
            b'{"latest": "2.0", "releases": {"2.0": {"wheel": "w", "lockboard": [], "wheels": "x.whl"}}}',
            "releases.json: releases.2.0.wheels: expected a list of names, got 'x.whl'",
        ),
    ],
)
def test_a_bad_index_is_refused_naming_the_field(document: bytes, named: str) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(named)):
        newer_release(document, "1.0.0")


def test_a_running_version_that_is_no_version_is_never_updated() -> None:
    with pytest.raises(ValueError, match="the running version 'unknown' is not a version number"):
        newer_release(json.dumps(GOOD).encode(), "unknown")


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)


@given(st.binary(max_size=200) | JSON.map(lambda v: json.dumps(v).encode()))
def test_any_bytes_give_a_release_none_or_a_value_error(data: bytes) -> None:
    try:
        found = newer_release(data, "1.0.0")
    except ValueError as exc:
        assert str(exc)
    else:
        assert found is None or (isinstance(found[0], str) and isinstance(found[1], str))


@given(st.sampled_from(["latest", "releases"]), JSON)
def test_any_value_in_a_field_gives_a_release_none_or_a_value_error(key: str, value: object) -> None:
    document = json.loads(json.dumps(GOOD))
    document[key] = value
    try:
        newer_release(json.dumps(document).encode(), "1.0.0")
    except ValueError as exc:
        assert str(exc)


def test_a_release_lists_its_dependencies_wheels() -> None:
    entry = {"wheel": "1.2.0/k.whl", "lockboard": [], "wheels": ["wheels/dep-1.0-py3-none-any.whl"]}
    data = json.dumps({"latest": "1.2.0", "releases": {"1.2.0": entry}}).encode()
    found = newer_release(data, "1.0.0")
    assert found is not None and found.wheels == ["wheels/dep-1.0-py3-none-any.whl"]


def test_a_rollout_names_its_version_which_must_be_published_and_newer() -> None:
    two = {**GOOD, "releases": {**GOOD["releases"], "1.1.0": {"wheel": "1.1.0/k.whl", "lockboard": []}}}
    data = json.dumps(two).encode()
    assert newer_release(data, "1.0.0", "1.1.0") == ("1.1.0", "1.1.0/k.whl", [], [])  # not the latest: the one named
    assert newer_release(data, "1.1.0", "1.1.0") is None
    with pytest.raises(ValueError, match=re.escape("releases.json: releases.1.3.0: expected")):
        newer_release(data, "1.0.0", "1.3.0")
