# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Filters that pick the Tempo configuration format for the tempo role.

Tempo 3.0 changed the configuration format (ingesters and the compactor were replaced by the live-store and the
backend scheduler/worker), and Tempo parses its file strictly, so the role must render the format of the version
it runs. Sources: grafana/tempo v3.0.3 cmd/tempo/app/config.go and v2.10.8 cmd/tempo/app/config.go.
"""

from __future__ import annotations

import re
from typing import Any, Union

from ansible.errors import AnsibleFilterError

FORMATS = (2, 3)
# A tag that is not a version (latest, a local build, a digest) counts as the current major version.
CURRENT_FORMAT = 3
LOCAL_BLOCKS = "local-blocks"
_VERSION_TAG = re.compile(r"^v?(\d+)(?:\.\d+)*(?:[-+].*)?$")


def image_tag(image: str) -> str:
    """The tag of an image reference (``"grafana/tempo:3.0.3"`` -> ``"3.0.3"``); ``""`` when it has none."""
    reference = image.split("@", 1)[0]
    name = reference.rsplit("/", 1)[-1]
    return name.split(":", 1)[1] if ":" in name else ""


def major_from_tag(tag: str) -> Union[int, None]:
    match = _VERSION_TAG.match(tag)
    return int(match.group(1)) if match else None


def _explicit_format(override: Any) -> Union[int, None]:
    text = str(override).strip().lower()
    if text in ("", "auto"):
        return None
    if text not in {str(f) for f in FORMATS}:
        raise AnsibleFilterError(f"tempo_config_format must be auto, 2 or 3, not {override!r}")
    return int(text)


def tempo_config_format(image: str, override: Any = "auto") -> int:
    """The Tempo configuration format (2 or 3) for ``image``, unless ``override`` names one."""
    explicit = _explicit_format(override)
    if explicit is not None:
        return explicit
    major = major_from_tag(image_tag(str(image)))
    if major is None:
        return CURRENT_FORMAT
    if major < 2:
        raise AnsibleFilterError(
            f"{image}: Tempo {major}.x is not supported by this role; use a 2.10.x or 3.x tag, "
            "or set tempo_config_format")
    return min(major, CURRENT_FORMAT)


def tempo_generator_processors(processors: list[str], config_format: Any) -> list[str]:
    """The metrics-generator processors for a format: 2.10 needs local-blocks for TraceQL metrics; 3.x removed it."""
    chosen = [p for p in processors if p != LOCAL_BLOCKS]
    if int(config_format) == 2:
        chosen.append(LOCAL_BLOCKS)
    return chosen


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "tempo_config_format": tempo_config_format,
            "tempo_generator_processors": tempo_generator_processors,
        }
