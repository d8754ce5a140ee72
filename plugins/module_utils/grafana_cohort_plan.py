# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The options of grafana_cohort and the jobs they make: one per object, with the objects each needs.

Each entry takes the options of its kind's single-object module (grafana_objects.py), so both validate an entry
the same way.
"""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_batch import (
    CHANGES,
    SKIPPED,
    Job,
    Key,
    diff_entries,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_objects import (
    DASHBOARD_OPTIONS,
    DATASOURCE_OPTIONS,
    FOLDER_OPTIONS,
    ORGANIZATION_OPTIONS,
    TEAM_OPTIONS,
    USER_OPTIONS,
    Dashboard,
    DashboardCopy,
    Datasource,
    Folder,
    Organization,
    Team,
    User,
)

__all__ = ['CHANGES', 'SKIPPED', 'Plan', 'argument_spec', 'build_jobs', 'diff_entries', 'pick_options']

#: the connection options every object's resource may read (the organization's caller, a token)
CONNECTION_KEYS = ('url_username', 'token')

LABEL = dict(type='str')
ORG_NAME = dict(type='str', required=True)


def pick_options(options: Dict[str, Any], *names: str, **changes: Any) -> Dict[str, Any]:
    """The options ``names`` of a single-object module's spec, copied, each updated by its entry of ``changes``."""
    picked = {name: copy.deepcopy(options[name]) for name in names}
    for name, change in changes.items():
        picked[name] = dict(picked.get(name, {}), **change)
    return picked


def argument_spec() -> Dict[str, Any]:
    """grafana_cohort's options, without the connection options."""
    entries = dict(type='list', elements='dict', default=[])
    datasource = {k: copy.deepcopy(v) for k, v in DATASOURCE_OPTIONS.items() if k != 'state'}
    return dict(
        users=dict(entries, options=dict(
            pick_options(USER_OPTIONS, 'login', 'name', 'email', 'password', 'password_update'), label=LABEL)),
        organizations=dict(entries, options=dict(pick_options(ORGANIZATION_OPTIONS, 'name', 'users', 'enforce_users'),
                                                 label=LABEL)),
        teams=dict(entries, options=dict(pick_options(TEAM_OPTIONS, 'name', 'email', 'members', 'enforce_members'),
                                         org_name=ORG_NAME, label=LABEL)),
        datasources=dict(entries, options=dict(datasource, org_name=ORG_NAME, label=LABEL)),
        folders=dict(entries, options=dict(
            pick_options(FOLDER_OPTIONS, 'uid', 'title', 'description', 'parent_uid', 'permissions',
                         title={'required': True}),
            org_name=ORG_NAME, label=LABEL)),
        dashboards=dict(entries, options=dict(
            pick_options(DASHBOARD_OPTIONS, 'folder_uid', 'commit_message'), uid=dict(type='str', required=True),
            model=dict(type='str', required=True), overwrite=dict(type='bool', default=False),
            org_name=ORG_NAME, label=LABEL)),
        dashboard_models=dict(type='dict', default={}),
        remove_dashboards=dict(entries, options=dict(org_name=ORG_NAME, uid=dict(type='str', required=True))),
        remove_folders=dict(entries, options=dict(org_name=ORG_NAME, uid=dict(type='str', required=True))),
        remove_organizations=dict(type='list', elements='str', default=[]),
        remove_users=dict(type='list', elements='str', default=[]),
        concurrency=dict(type='int', default=8),
    )


def _defaults(options: Dict[str, Any]) -> Dict[str, Any]:
    return {name: copy.deepcopy(option.get('default')) for name, option in options.items()}


class Plan:
    """Makes the jobs of a batch from its entries: each job's params are its kind's defaults, the connection
    options the resources read, and the entry."""

    def __init__(self, params: Dict[str, Any]) -> None:
        self.params = params
        self.connection = {k: params.get(k) for k in CONNECTION_KEYS}
        self.jobs: List[Job] = []
        self.users: Dict[str, Key] = {}  # lower-case login -> key (Grafana compares logins without case)

    def add(self, kind: str, cls: type, options: Dict[str, Any], entry: Dict[str, Any], name: str, org: str = '',
            needs: Optional[List[Key]] = None, after: Optional[List[Key]] = None, **fixed: Any) -> Job:
        params = dict(_defaults(options), **self.connection)
        params.update({k: v for k, v in entry.items() if k not in ('label', 'model', 'overwrite')})
        params.update(fixed)
        if org:
            params.update(org_name=org, org_id=None)
        needs = list(needs or [])
        if org and params['state'] == 'present':
            needs.append(('organization', '', org))
        job = Job(kind, cls, params, name, org, needs, entry.get('label') or '', after or [])
        self.jobs.append(job)
        return job

    def users_named(self, logins: List[str]) -> List[Key]:
        return [self.users[login.lower()] for login in logins if login.lower() in self.users]

    def build(self) -> List[Job]:
        p = self.params
        for entry in p['users']:
            job = self.add('user', User, USER_OPTIONS, entry, entry['login'], state='present')
            self.users[entry['login'].lower()] = job.key
        for entry in p['organizations']:
            self.add('organization', Organization, ORGANIZATION_OPTIONS, entry, entry['name'],
                     needs=self.users_named([u['login'] for u in entry['users']]), state='present')
        for entry in p['teams']:
            org = entry.pop('org_name')
            self.add('team', Team, TEAM_OPTIONS, entry, entry['name'], org,
                     needs=self.users_named(entry['members']), state='present')
        for entry in p['datasources']:
            org = entry.pop('org_name')
            self.add('datasource', Datasource, DATASOURCE_OPTIONS, entry, entry['uid'] or entry['name'], org,
                     state='present')
        for entry in p['folders']:
            org = entry.pop('org_name')
            needs = []
            if entry.get('parent_uid'):
                needs.append(('folder', org, entry['parent_uid']))
            for permission in entry.get('permissions') or []:
                if permission.get('team'):
                    needs.append(('team', org, permission['team']))
                if permission.get('user'):
                    needs.extend(self.users_named([permission['user']]))
            self.add('folder', Folder, FOLDER_OPTIONS, entry, entry['uid'], org, needs=needs, state='present')
        models = p['dashboard_models'] or {}
        for entry in p['dashboards']:
            org = entry.pop('org_name')
            if entry['model'] not in models:
                raise ValueError(f"dashboard '{entry['uid']}': its model '{entry['model']}' is not in dashboard_models")
            needs = [('folder', org, entry['folder_uid'])] if entry['folder_uid'] else []
            self.add('dashboard', DashboardCopy, DASHBOARD_OPTIONS, entry, entry['uid'], org, needs=needs,
                     state='present', dashboard=models[entry['model']], overwrite=entry['overwrite'])
        # Removals come last, one after the other (dashboards, folders, organizations, users): two names of one object
        # (a login in two cases) are then never deleted twice at once.
        removed: List[Key] = []
        present = [job.key for job in self.jobs]
        for entry in p['remove_dashboards']:
            removed.append(self.add('dashboard', Dashboard, DASHBOARD_OPTIONS, {'uid': entry['uid']}, entry['uid'],
                                    entry['org_name'], after=removed[-1:] or present, state='absent').key)
        for entry in p['remove_folders']:
            removed.append(self.add('folder', Folder, FOLDER_OPTIONS, {'uid': entry['uid']}, entry['uid'],
                                    entry['org_name'], after=removed[-1:] or present, state='absent').key)
        for name in dict.fromkeys(p['remove_organizations']):
            removed.append(self.add('organization', Organization, ORGANIZATION_OPTIONS, {'name': name}, name,
                                    after=removed[-1:] or present, state='absent').key)
        logins = {login.lower(): login for login in reversed(p['remove_users'])}
        for login in dict.fromkeys(logins[login.lower()] for login in p['remove_users']):
            removed.append(self.add('user', User, USER_OPTIONS, {'login': login}, login, after=removed[-1:] or present,
                                    state='absent').key)
        return self.unique()

    def unique(self) -> List[Job]:
        """The jobs, each object once; ValueError names an object listed twice."""
        seen = set()
        for job in self.jobs:
            if job.key in seen:
                raise ValueError(f'{job.describe()} is listed twice (or both kept and removed)')
            seen.add(job.key)
        return self.jobs


def build_jobs(params: Dict[str, Any]) -> List[Job]:
    """The jobs of grafana_cohort's validated ``params``, in the order of the options."""
    return Plan(copy.deepcopy(params)).build()
