#!/usr/bin/python
# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: grafana_search
short_description: Find the dashboards or folders of one or more Grafana organizations in one task
version_added: 1.0.0
description:
  - Reads C(GET /api/search) in each organization of O(org_ids), in one task, and returns the hits, each with the
    id of the organization it was found in. Changes nothing.
  - Grafana's search answers for one organization at a time (the one the request names), so an organization costs
    one request; a task per organization costs an Ansible task each (about a second), which this module saves.
  - Pages of 5000 hits (Grafana's largest) are read until a short page.
  - O(org_names) names organizations instead of ids, found in one list of Grafana's organizations
    (C(GET /api/orgs), which needs a server admin); an organization that does not exist has nothing to find and is
    left out, so a play can search organizations that a later task creates.
author:
  - data2ai training team (@data2ai)
extends_documentation_fragment:
  - data2ai.grafana_stack.grafana
attributes:
  check_mode:
    support: full
    description: Reads only; runs the same in check mode.
  diff_mode:
    support: none
    description: Changes nothing, so it has no diff.
  idempotent:
    support: full
    description: Never changes anything.
options:
  org_ids:
    description:
      - Ids of the organizations to search. Empty (and O(org_names) too), the current organization of the connecting
        user.
    type: list
    elements: int
    default: []
  org_names:
    description:
      - Names of organizations to search, after those of O(org_ids). Those that do not exist are left out.
    type: list
    elements: str
    default: []
  type:
    description:
      - What to find, Grafana's search C(type).
    type: str
    choices: [dash-db, dash-folder]
    default: dash-db
'''

EXAMPLES = r'''
- name: Find the dashboards of two organizations
  data2ai.grafana_stack.grafana_search:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    org_ids: [2, 3]
  register: found

- name: Their uids, per organization id
  ansible.builtin.debug:
    msg: "{{ found.hits | groupby('orgId') }}"
'''

RETURN = r'''
hits:
  description: The search hits of every organization, in the order of O(org_ids), as Grafana returns them
    (C(uid), C(title), C(type), C(folderUid), ...), each with C(orgId), the organization it was found in (null for
    the current organization).
  returned: always
  type: list
  elements: dict
  sample: [{orgId: 2, uid: cohort-d-1, title: Overview, type: dash-db, folderUid: cohort-c42-u-alice}]
org_ids:
  description: The ids of the organizations of O(org_names) that exist, by name.
  returned: always
  type: dict
  sample: {c42-alice: 2}
'''

from typing import Any, Dict, List, Optional  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_api import (  # noqa: E402
    GrafanaAPIError,
    GrafanaClient,
    grafana_argument_spec,
)

#: Grafana's largest search page (pkg/api/search.go caps limit at 5000)
PAGE = 5000
#: the page of GET /api/orgs (pkg/api/org.go: perpage, 1000 by default)
ORGS_PAGE = 1000


def org_ids_by_name(client: GrafanaClient, names: List[str]) -> Dict[str, int]:
    """The ids of the organizations named ``names`` that exist, from the list of all organizations."""
    wanted, found = set(names), {}
    page = 1
    while wanted - set(found):
        orgs = client.request('GET', '/api/orgs', 'organizations', query={'perpage': ORGS_PAGE, 'page': page},
                              use_org=False) or []
        found.update({org['name']: int(org['id']) for org in orgs if org.get('name') in wanted})
        if len(orgs) < ORGS_PAGE:
            break
        page += 1
    return {name: found[name] for name in names if name in found}


def search(client: GrafanaClient, org_id: Optional[int], kind: str) -> List[Dict[str, Any]]:
    """Every hit of one organization, page after page."""
    client.org_id = org_id
    obj = f'search in organization {org_id}' if org_id is not None else 'search'
    hits: List[Dict[str, Any]] = []
    page = 1
    while True:
        found = client.request('GET', '/api/search', obj, query={'type': kind, 'limit': PAGE, 'page': page}) or []
        hits.extend(dict(hit, orgId=org_id) for hit in found)
        if len(found) < PAGE:
            return hits
        page += 1


def main() -> None:
    spec = grafana_argument_spec()
    spec.update(
        org_ids=dict(type='list', elements='int', default=[]),
        org_names=dict(type='list', elements='str', default=[]),
        type=dict(type='str', choices=['dash-db', 'dash-folder'], default='dash-db'),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    if not module.params.get('token') and module.params.get('url_password') is None:
        module.fail_json(msg='grafana: set either token (service account token) or url_password')
    client = GrafanaClient(module.params)
    hits: List[Dict[str, Any]] = []
    named: Dict[str, int] = {}
    try:
        if module.params['org_names']:
            named = org_ids_by_name(client, module.params['org_names'])
        org_ids = list(module.params['org_ids']) + [i for i in named.values() if i not in module.params['org_ids']]
        if not org_ids and not module.params['org_names']:
            org_ids = [None]
        for org_id in org_ids:
            hits.extend(search(client, org_id, module.params['type']))
    except GrafanaAPIError as exc:
        module.fail_json(msg=exc.one_line(), status=exc.status)
    module.exit_json(changed=False, hits=hits, org_ids=named)


if __name__ == '__main__':
    main()
