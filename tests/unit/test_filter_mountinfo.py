"""Node Exporter's /host mount propagation: node_exporter_propagation (roles/node_exporter/vars/main.yml) rendered
by ansible-core's Templar from a /proc/self/mountinfo, and the mountinfo_propagation filter on the corner cases.

The role tests were written against the Jinja the variable held before plugins/filter/mountinfo.py replaced it.
Lines follow proc(5): mount ID, parent ID, major:minor, root, mount point, options, optional fields ("shared:N",
"master:N", "propagate_from:N", "unbindable"), a "-", the filesystem type, the source and the super options.
"""

from __future__ import annotations

import base64

import pytest
from ansible_collections.data2ai.grafana_stack.plugins.filter.mountinfo import mountinfo_propagation
from role_rendering import ROLES_DIR, template_with_templar

SHARED_ROOT = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
SLAVE_ROOT = "634 589 0:58 / / rw,relatime master:219 - overlay overlay rw,lowerdir=/l\n"
PRIVATE_ROOT = "634 589 0:58 / / rw,relatime - overlay overlay rw\n"
OTHER = "25 22 0:23 / /sys rw,nosuid shared:7 - sysfs sysfs rw\n"
MOUNTINFO = {
    "shared root": (SHARED_ROOT + OTHER, "rslave"),
    "slave root, as in a container of a shared host": (SLAVE_ROOT + OTHER, "rslave"),
    "private root": (PRIVATE_ROOT + OTHER, "default"),
    "the last mount on / wins": (SHARED_ROOT + OTHER + PRIVATE_ROOT, "default"),
    "the last mount on / wins, the other way": (PRIVATE_ROOT + SLAVE_ROOT, "rslave"),
    "a shared mount elsewhere does not count": (PRIVATE_ROOT + "30 22 0:25 / /srv rw shared:9 - ext4 /dev/b rw\n",
                                                "default"),
    "super options that look like fields do not count": (
        "634 589 0:58 / / rw - overlay overlay rw,x shared:1\n", "default"),
    "a shared mount of a subdirectory of / as root counts": (
        "40 1 8:1 /var/lib / rw,relatime shared:3 propagate_from:1 - ext4 /dev/sda1 rw\n", "rslave"),
}


def _role_propagation(cases: list[dict]) -> list[str]:
    node_exporter = ROLES_DIR / "node_exporter"
    return template_with_templar("{{ node_exporter_propagation }}", cases, {"inventory_hostname": "h"},
                                 [node_exporter / "defaults" / "main.yml", node_exporter / "vars" / "main.yml"])


def test_auto_propagation_follows_the_last_mount_on_root() -> None:
    cases = [{"node_exporter_mountinfo": {"content": base64.b64encode(text.encode()).decode()}}
             for text, _want in MOUNTINFO.values()]
    assert dict(zip(MOUNTINFO, _role_propagation(cases))) == {case: want for case, (_text, want) in MOUNTINFO.items()}


@pytest.mark.parametrize("chosen", ["rslave", "default"])
def test_a_chosen_propagation_wins_and_needs_no_mountinfo(chosen: str) -> None:
    assert _role_propagation([{"node_exporter_rootfs_propagation": chosen}]) == [chosen]


@pytest.mark.parametrize(("text", "want"), list(MOUNTINFO.values()))
def test_the_filter_reads_what_the_role_reads(text: str, want: str) -> None:
    assert mountinfo_propagation(text) == want


@pytest.mark.parametrize("text", ["", "\n", OTHER, "garbage\n", "1 2 3 4 /\n", "1 2 3 4 / 6\n"])
def test_no_mount_on_root_is_docker_default_where_the_jinja_failed(text: str) -> None:
    assert mountinfo_propagation(text) == "default"


@pytest.mark.parametrize(("line", "want"), [
    ("22 1 8:1 / / rw shared:1 master:2 - ext4 /dev/a rw", "rslave"),
    ("22 1 8:1 / / rw unbindable - ext4 /dev/a rw", "default"),
    ("22 1 8:1 / / rw propagate_from:1 - ext4 /dev/a rw", "default"),
    ("22 1 8:1 / / rw shared:1", "default"),  # no separator: not a mountinfo line
    ("22 1 8:1 / / rw,shared:1 - ext4 /dev/a rw", "default"),  # a mount option, not an optional field
])
def test_only_the_optional_fields_before_the_separator_count(line: str, want: str) -> None:
    assert mountinfo_propagation(line + "\n") == want


def test_another_mount_point_as_mountinfo_writes_it() -> None:
    text = PRIVATE_ROOT + "30 22 0:25 / /srv/my\\040data rw shared:9 - ext4 /dev/b rw\n"
    assert mountinfo_propagation(text, "/srv/my\\040data") == "rslave"
    assert mountinfo_propagation(text, "/srv") == "default"
