# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""grafana_search: the dashboards of several organizations in one task, each hit with its organization."""

from __future__ import annotations

from grafana_harness import Ansible, GrafanaDouble


def test_search_reads_each_organization_once_and_tags_every_hit_with_it(
        ansible: Ansible, grafana: GrafanaDouble) -> None:
    orgs = [grafana.create_org(name) for name in ("s1", "s2", "s3")]
    for org, uid in zip(orgs, ("d-1", "d-2", "d-3")):
        reply = grafana.call("POST", "/api/dashboards/db", {"dashboard": {"uid": uid, "title": uid}}, org_id=org)
        assert reply.status == 200, reply
    grafana.create_folder("f-2", "Folder", org_id=orgs[1])
    already = len(grafana.served())

    for check in (False, True):
        result = ansible.run("grafana_search", check=check, org_ids=orgs)
        assert not result.failed and not result.changed, result.data
        assert [(hit["orgId"], hit["uid"]) for hit in result["hits"]] == list(zip(orgs, ("d-1", "d-2", "d-3")))
    searches = [r for r in grafana.served()[already:] if r["path"] == "/api/search"]
    assert len(searches) == 2 * len(orgs)

    folders = ansible.run("grafana_search", org_ids=[orgs[1]], type="dash-folder")
    assert [(hit["orgId"], hit["uid"]) for hit in folders["hits"]] == [(orgs[1], "f-2")]


def test_search_without_orgs_reads_the_current_one_and_a_missing_org_fails_in_one_line(
        ansible: Ansible, grafana: GrafanaDouble) -> None:
    reply = grafana.call("POST", "/api/dashboards/db", {"dashboard": {"uid": "main-1", "title": "Main"}})
    assert reply.status == 200, reply
    result = ansible.run("grafana_search")
    assert [(hit["orgId"], hit["uid"]) for hit in result["hits"]] == [(None, "main-1")]
    failed = ansible.run("grafana_search", org_ids=[999])
    assert failed.failed and "\n" not in failed.msg and failed.msg.startswith("search in organization 999: HTTP")
