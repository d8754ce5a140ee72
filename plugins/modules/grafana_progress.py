#!/usr/bin/python
# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: grafana_progress
short_description: Check every student of a cohort against the cohort's exercises, in one task
version_added: 1.1.0
description:
  - Reads, through Grafana's HTTP API, what each student of O(students) built, and judges it against
    O(exercises), an instructor's list of exercises written as data. Changes nothing.
  - A C(dashboard) exercise looks at the dashboards in the student's folder (or, with C(where=org), in the
    student's organization) that the student created or saved (Grafana's C(createdBy) and C(updatedBy)), so
    an untouched starter copy never counts. Its criteria are C(title_contains), C(min_panels),
    C(variable_name), and the panel criteria C(panel_type), C(panel_datasource_type), C(panel_query_contains)
    and C(panel_query_matches) (a regular expression), which must all hold for one panel.
  - An C(alert_rule) exercise looks at the alert rules in the student's folder (or, with C(where=org), in the
    student's organization; in the C(single_org) layout every student shares that organization, so keep
    C(where=folder) there). Its criteria are C(title_contains), C(query_contains), C(query_matches) and
    C(datasource_type), on one rule.
  - One organization's datasources and alert rules are read once, however many students it holds; students are
    read concurrently (O(concurrency)).
  - An exercise list that cannot be checked (an unknown key or criterion, a bad regular expression, a repeated
    id) fails the task before any request, with one line per problem.
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
  students:
    description:
      - The students to check.
    type: list
    elements: dict
    required: true
    suboptions:
      login:
        description: The student's Grafana login.
        type: str
        required: true
      org_name:
        description: The organization that holds the student's folder.
        type: str
        required: true
      folder_uid:
        description: The uid of the student's own folder.
        type: str
        required: true
  exercises:
    description:
      - The exercises, each a mapping with C(id), C(title) and exactly one of C(dashboard) or C(alert_rule),
        whose value is a mapping of criteria (described above; C({}) when any such object will do).
    type: list
    elements: dict
    required: true
  concurrency:
    description:
      - How many students are read at the same time.
    type: int
    default: 8
'''

EXAMPLES = r'''
- name: Check the cohort's progress
  data2ai.grafana_stack.grafana_progress:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    students:
      - {login: alice, org_name: cohort-42, folder_uid: cohort-cohort-42-u-alice}
    exercises:
      - id: rate-panel
        title: A dashboard in your folder with a panel whose query uses rate(
        dashboard: {panel_query_contains: "rate("}
      - id: loki-panel
        title: A panel that queries Loki
        dashboard: {panel_datasource_type: loki}
      - id: instance-variable
        title: A dashboard variable named instance
        dashboard: {variable_name: instance}
      - id: alert-rule
        title: An alert rule in your folder
        alert_rule: {}
  register: progress
'''

RETURN = r'''
students:
  description: One entry per student, in the order of O(students).
  returned: always
  type: list
  elements: dict
  contains:
    login:
      description: The student's login.
      type: str
    done:
      description: How many exercises the student has done.
      type: int
    total:
      description: How many exercises there are.
      type: int
    error:
      description: Why the student could not be checked (their organization or folder is missing), else empty.
      type: str
    exercises:
      description: One entry per exercise, C(id), C(title), C(done) and C(detail) (the object that fulfils it, or
        why none does).
      type: list
      elements: dict
  sample:
    - login: alice
      done: 1
      total: 2
      error: ""
      exercises:
        - {id: rate-panel, title: "A panel using rate(", done: true, detail: "dashboard 'Mine' (uid abc)"}
        - {id: alert-rule, title: An alert rule, done: false, detail: no alert rule here}
'''

import threading  # noqa: E402
from concurrent.futures import ThreadPoolExecutor  # noqa: E402
from typing import Any, Dict, List, Mapping, Optional, Tuple  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.exercises import (  # noqa: E402
    Datasources,
    judge_student,
    needs_org_rules,
    needs_whole_org,
    validate_exercises,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_api import (  # noqa: E402
    GrafanaAPIError,
    GrafanaClient,
    grafana_argument_spec,
    quote_path,
)

#: Grafana's largest search page (pkg/api/search.go caps limit at 5000)
PAGE = 5000
Pair = Tuple[Dict[str, Any], Dict[str, Any]]


class OrgView:
    """What one organization holds that its students' exercises need, each read once.

    Its datasources, its alert rules (when an exercise asks about them), the search hits of its dashboards, and
    each dashboard that a student's check reads (kept, so a dashboard is fetched once however many students'
    scopes hold it).
    """

    def __init__(self, params: Mapping[str, Any], name: str, with_rules: bool) -> None:
        self.name = name
        self.id: Optional[int] = None
        self.sources = Datasources([])
        self.rules: List[Dict[str, Any]] = []
        self.hits: List[Dict[str, Any]] = []
        self._dashboards: Dict[str, Optional[Pair]] = {}
        self._lock = threading.Lock()
        found = GrafanaClient(params).request('GET', f'/api/orgs/name/{quote_path(name)}', f"organization '{name}'",
                                              use_org=False, missing_ok=True)
        if not found:
            return
        self.id = int(found['id'])
        self.client = GrafanaClient(dict(params, org_id=self.id, org_name=None))
        self.sources = Datasources(self.client.request('GET', '/api/datasources', f"datasources of '{name}'") or [])
        if with_rules:
            self.rules = self.client.request('GET', '/api/v1/provisioning/alert-rules',
                                             f"alert rules of '{name}'") or []
        page = 1
        while True:
            hits = self.client.request('GET', '/api/search', f"dashboards of '{name}'",
                                       query={'type': 'dash-db', 'limit': PAGE, 'page': page}) or []
            self.hits.extend(hits)
            if len(hits) < PAGE:
                break
            page += 1

    def dashboard(self, hit: Mapping[str, Any]) -> Optional[Pair]:
        """The dashboard of a search hit and its meta (with the hit's ``folderUid``), read once."""
        uid = str(hit.get('uid'))
        with self._lock:
            if uid in self._dashboards:
                return self._dashboards[uid]
        full = self.client.request('GET', f'/api/dashboards/uid/{quote_path(uid)}', f'dashboard {uid}',
                                   missing_ok=True)
        pair = None
        if full:
            meta = dict(full.get('meta') or {})
            meta['folderUid'] = meta.get('folderUid') or hit.get('folderUid') or ''
            pair = (full.get('dashboard') or {}, meta)
        with self._lock:
            self._dashboards[uid] = pair
        return pair


def check_student(student: Mapping[str, Any], org: OrgView, exercises: List[Dict[str, Any]],
                  whole_org: bool) -> Dict[str, Any]:
    """The student's result for every exercise; ``whole_org`` when an exercise looks beyond their folder."""
    login = student['login']
    entry: Dict[str, Any] = {'login': login, 'org_name': student['org_name'], 'folder_uid': student['folder_uid'],
                             'error': '', 'done': 0, 'total': len(exercises)}
    if org.id is None:
        entry['error'] = f"organization '{org.name}' not found"
        results = [{'id': e['id'], 'title': e.get('title') or e['id'], 'done': False, 'detail': entry['error']}
                   for e in exercises]
    else:
        hits = [h for h in org.hits if whole_org or h.get('folderUid') == student['folder_uid']]
        dashboards = [pair for pair in map(org.dashboard, hits) if pair is not None]
        results = judge_student(exercises, login, student['folder_uid'], dashboards, org.rules, org.sources)
    entry['exercises'] = results
    entry['done'] = sum(1 for r in results if r['done'])
    return entry


def main() -> None:
    spec = grafana_argument_spec()
    spec.update(
        students=dict(type='list', elements='dict', required=True, options=dict(
            login=dict(type='str', required=True),
            org_name=dict(type='str', required=True),
            folder_uid=dict(type='str', required=True),
        )),
        exercises=dict(type='list', elements='dict', required=True),
        concurrency=dict(type='int', default=8),
    )
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True)
    if not module.params.get('token') and module.params.get('url_password') is None:
        module.fail_json(msg='grafana: set either token (service account token) or url_password')
    exercises = module.params['exercises']
    problems = validate_exercises(exercises)
    if module.params['concurrency'] < 1:
        problems.append('concurrency must be 1 or more')
    if problems:
        module.fail_json(msg='; '.join(problems), problems=problems)

    params = dict(module.params, org_id=None, org_name=None)
    students = module.params['students']
    workers = min(module.params['concurrency'], max(1, len(students)))
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            names = sorted({s['org_name'] for s in students})
            with_rules = needs_org_rules(exercises)
            orgs = dict(zip(names, pool.map(lambda name: OrgView(params, name, with_rules), names)))
            whole_org = needs_whole_org(exercises)
            checked = list(pool.map(lambda s: check_student(s, orgs[s['org_name']], exercises, whole_org), students))
    except GrafanaAPIError as exc:
        module.fail_json(msg=exc.one_line(), status=exc.status)
    module.exit_json(changed=False, students=checked)


if __name__ == '__main__':
    main()
