# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""docker_host's offline image bundle (roles/docker_host/tasks/bundle.yml): which of the bundle's images a host
loads, and which tag and id pairs a ``docker load`` left.

Documentation: the .yml file of each filter beside this one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def docker_tag_ids(images: Iterable[Mapping[str, Any]] | None) -> list[str]:
    """``<tag> <image id>`` for every tag of every image (docker_image_info's or docker_image_load's images)."""
    return [f"{tag} {image['Id']}" for image in images or [] for tag in image.get("RepoTags") or []]


def bundle_to_load(bundle_images: Iterable[Mapping[str, Any]],
                   present_images: Iterable[Mapping[str, Any]] | None) -> list[dict[str, Any]]:
    """The bundle's entries (ref, id, file) whose ref is not on the host with the bundle's id, in the bundle's
    order. An image a role builds (an entry with ``inputs``: the label its role puts the digest of the build's inputs
    in, and that digest) is also left alone when the host holds the ref with that label and value: the role built it
    there from the same inputs, and would not build it again."""
    present = set(docker_tag_ids(present_images))
    labels = {tag: (image.get("Config") or {}).get("Labels") or {}
              for image in present_images or [] for tag in image.get("RepoTags") or []}

    def built_alike(entry: Mapping[str, Any]) -> bool:
        inputs = entry.get("inputs") or {}
        return bool(inputs) and labels.get(entry["ref"], {}).get(inputs["label"]) == inputs["value"]

    return [dict(entry) for entry in bundle_images
            if f"{entry['ref']} {entry['id']}" not in present and not built_alike(entry)]


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {
            "docker_tag_ids": docker_tag_ids,
            "bundle_to_load": bundle_to_load,
        }
