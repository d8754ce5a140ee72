"""docs/versions.md lists every component's default image, as the role's defaults name it."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
TABLE_ROW = re.compile(r"^\| [^|]+ \| `(?P<image>[^`]+)` \| `(?P<tag>[^`]+)`", re.MULTILINE)


def default_images() -> dict[str, str]:
    """role -> its <role>_image default, for every role that has one."""
    images = {}
    for defaults in sorted(ROOT.glob("roles/*/defaults/main.yml")):
        role = defaults.parts[-3]
        value = (yaml.safe_load(defaults.read_text()) or {}).get(f"{role}_image")
        if value:
            images[role] = value
    return images


def documented() -> set[str]:
    text = (ROOT / "docs" / "versions.md").read_text()
    return {f"{row['image']}:{row['tag'].split('`')[0]}" for row in TABLE_ROW.finditer(text)}


def test_every_component_role_has_a_default_image() -> None:
    # The twelve upstream components, and the demo workload, whose image the demo role builds on the host.
    assert len(default_images()) == 13, default_images()


def test_every_default_image_is_listed_in_docs_versions() -> None:
    missing = {role: image for role, image in default_images().items() if image not in documented()}
    assert not missing, f"default images missing from docs/versions.md: {missing}"


def test_no_default_image_floats_on_a_moving_tag() -> None:
    moving = {role: image for role, image in default_images().items()
              if ":" not in image or image.rsplit(":", 1)[1] in ("latest", "2", "3", "15", "7", "8")}
    assert not moving, moving
