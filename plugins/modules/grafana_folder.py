#!/usr/bin/python
# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: grafana_folder
short_description: Manage Grafana folders, nested ones included
version_added: 1.0.0
description:
  - Create, rename, move and delete a dashboard folder in a Grafana organization.
  - The folder is identified by its O(uid), never by its title. Changing O(title) renames the folder
    and keeps its uid, so dashboards and alert rules that point at it keep working.
  - Folders nest through O(parent_uid) (Grafana 10 and later with nested folders, at most 8 levels).
  - With O(permissions), the folder's permission list (ACL) is made equal to the given one through Grafana's
    folder permissions API (C(GET|POST /api/folders/<uid>/permissions)); without it the permissions are left alone.
  - The API is chosen from the version Grafana reports at C(GET /api/health), never from an option. Grafana 13 and
    later are driven through C(/apis/folder.grafana.app/v1/namespaces/<namespace>/folders[/<uid>]) (namespace
    C(default) for org 1, C(org-<id>) for the others; the parent in the C(grafana.app/folder) annotation, so one
    conditional C(PUT) renames and moves; a concurrent change answers HTTP 409). Grafana 11 and 12, or a Grafana that
    hides its version, use C(/api/folders). The permissions API and O(force_delete_rules) (which C(/apis) lacks) use
    the legacy routes, which Grafana 13 still serves.
  - Both ways the module is idempotent and supports check mode and diff mode; the same view (uid, title, parent uid,
    description, permissions) is compared, and nothing is written in check mode.
author:
  - data2ai training team (@data2ai)
extends_documentation_fragment:
  - data2ai.grafana_stack.grafana
  - data2ai.grafana_stack.grafana.org
  - data2ai.grafana_stack.grafana.attributes
options:
  state:
    description:
      - V(present) creates, renames or moves the folder, V(absent) deletes it with its dashboards.
    type: str
    choices: [present, absent]
    default: present
  uid:
    description:
      - Uid of the folder, at most 40 characters of C([a-zA-Z0-9_-]).
    type: str
    required: true
  title:
    description:
      - Title shown in Grafana. Titles need not be unique from Grafana 11.3 on.
      - Required with O(state=present).
    type: str
  description:
    description:
      - Description of the folder. Not compared when unset.
    type: str
  parent_uid:
    description:
      - Uid of the parent folder. An empty string means the top level.
      - When unset, the folder is created at the top level and an existing folder is not moved.
      - A different value moves the folder (C(POST /api/folders/<uid>/move), or the C(grafana.app/folder) annotation
        on Grafana 13).
    type: str
  force_delete_rules:
    description:
      - With O(state=absent), also delete the alert rules stored in the folder. Without it Grafana
        refuses to delete a folder that holds alert rules.
    type: bool
    default: false
  permissions:
    description:
      - The whole permission list of the folder. Entries not listed are removed, so an empty list leaves only the
        access Grafana gives by itself (org Admins always administer every folder).
      - "Compared with the folder's own entries as C(GET /api/folders/<uid>/permissions) returns them: entries
        marked C(inherited) (from parent folders or, on older Grafana, the dashboard ACL) are ignored, and users
        Grafana hides (C([users] hidden_users)) are never listed nor removed."
      - A new top-level folder starts with C(Editor) -> C(Edit) and C(Viewer) -> C(View), and Grafana also gives
        the user who created it C(Admin); list the role entries to keep them.
      - Users are looked up with C(GET /api/users/lookup), which needs a Grafana server admin; teams with
        C(GET /api/teams/search) in the folder's organization. An unknown user or team fails the task (in check
        mode, where it may be created by an earlier task, it is a warning).
      - Each entry names exactly one of O(permissions[].user), O(permissions[].team) or O(permissions[].role).
        Unset, the permissions are not compared nor changed. Ignored with O(state=absent).
    type: list
    elements: dict
    suboptions:
      user:
        description:
          - Login (or email) of a user. The result shows the login.
          - It names the user with that login, compared case-insensitively as Grafana does; only when no user has it
            as login, the user with that email.
        type: str
      team:
        description:
          - Name of a team of the folder's organization.
        type: str
      role:
        description:
          - Basic org role. A role's entry applies to every member with that role or a higher one.
        type: str
        choices: [Viewer, Editor]
      permission:
        description:
          - V(View) reads the folder and its dashboards, V(Edit) also creates, saves and deletes dashboards in it,
            V(Admin) also manages the folder and its permissions.
        type: str
        choices: [View, Edit, Admin]
        required: true
'''

EXAMPLES = r'''
- name: Folder of a cohort
  data2ai.grafana_stack.grafana_folder:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    org_name: cohort-2025-01
    uid: cohort-labs
    title: Labs

- name: Nested folder for one exercise
  data2ai.grafana_stack.grafana_folder:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    org_name: cohort-2025-01
    uid: cohort-labs-variables
    title: Template variables
    parent_uid: cohort-labs

- name: A student's own folder, which they edit even as an org Viewer
  data2ai.grafana_stack.grafana_folder:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    org_name: cohort-2025-01
    uid: cohort-2025-01-u-bob
    title: Bob
    permissions:
      - user: bob
        permission: Edit
      - team: team-a
        permission: View
      - role: Editor
        permission: Edit

- name: Delete the folder and its alert rules
  data2ai.grafana_stack.grafana_folder:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    uid: cohort-labs
    force_delete_rules: true
    state: absent
'''

RETURN = r'''
folder:
  description: The folder as the user manages it after the run; empty after O(state=absent).
  returned: always
  type: dict
  sample: {uid: cohort-labs, title: Labs, parent_uid: "", description: "",
           permissions: [{user: bob, permission: Edit}, {role: Editor, permission: Edit}]}
  contains:
    permissions:
      description:
        - The folder's own permission entries, sorted (users, then teams, then roles), each with one of C(user),
          C(team) or C(role) and C(permission).
      returned: when O(permissions) is set
      type: list
      elements: dict
diff:
  description: The folder before and after (uid, title, parent uid, description, and permissions when managed).
  returned: when diff mode is on
  type: dict
'''

from typing import Any, Dict, List, Optional, Tuple  # noqa: E402

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_api import (  # noqa: E402
    FOLDER_ANNOTATION,
    FOLDER_GROUP,
    GrafanaAPIError,
    app_object,
    quote_path,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_resource import (  # noqa: E402
    GrafanaResource,
    drop_none,
    run_resource,
)

PERMISSION_LEVELS = {'View': 1, 'Edit': 2, 'Admin': 4}
PERMISSION_NAMES = {level: name for name, level in PERMISSION_LEVELS.items()}
PRINCIPALS = ('user', 'team', 'role')
#: the body key of each principal in POST /api/folders/<uid>/permissions
PRINCIPAL_KEYS = {'user': 'userId', 'team': 'teamId'}

Principal = Tuple[str, str]


def acl_entry(principal: Principal, permission: str) -> Dict[str, str]:
    return {principal[0]: principal[1], 'permission': permission}


def sort_acl(entries: List[Dict[str, str]]) -> List[Dict[str, str]]:
    def key(entry: Dict[str, str]) -> Tuple[int, str]:
        kind = next(k for k in PRINCIPALS if k in entry)
        return PRINCIPALS.index(kind), entry[kind]
    return sorted(entries, key=key)


def principal_of(entry: Dict[str, Any]) -> Optional[Principal]:
    """Who a GET entry names: a user (login), a team (name) or a role; None for what cannot be managed."""
    if entry.get('inherited'):
        return None
    if entry.get('userId'):
        return 'user', entry.get('userLogin') or ''
    if entry.get('teamId'):
        return 'team', entry.get('team') or ''
    if entry.get('role'):
        return 'role', entry['role']
    return None


class Folder(GrafanaResource):
    kind = 'folder'

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Ids of the users and teams named in permissions, from the folder's ACL or looked up.
        self._ids: Dict[Principal, int] = {}

    @property
    def manages_permissions(self) -> bool:
        return self.params['permissions'] is not None and self.params['state'] == 'present'

    @property
    def label(self) -> str:
        return "folder '{}'".format(self.params['uid'])

    @property
    def path(self) -> str:
        return f"/api/folders/{quote_path(self.params['uid'])}"

    def object_path(self, named: bool = True) -> str:
        return self.client.apis_path(FOLDER_GROUP, 'folders', self.params['uid'] if named else None)

    def _read_folder(self) -> Optional[Dict[str, Any]]:
        """The folder in the legacy shape (``uid``, ``title``, ``description``, ``parentUid``) from either API."""
        if not self.serves_app_apis():
            return self.api_get(self.path)
        found = self.api_get(self.object_path())
        if found is None:
            return None
        metadata, spec = found.get('metadata') or {}, found.get('spec') or {}
        return {'uid': metadata.get('name'), 'title': spec.get('title'), 'description': spec.get('description'),
                'parentUid': (metadata.get('annotations') or {}).get(FOLDER_ANNOTATION) or '',
                'resourceVersion': metadata.get('resourceVersion')}

    def read(self) -> Optional[Dict[str, Any]]:
        folder = self._read_folder()
        if folder is None or not self.manages_permissions:
            return folder
        acl = []
        for entry in self.api('GET', self.path + '/permissions') or []:
            principal = principal_of(entry)
            if principal is None:
                continue
            if principal[0] in PRINCIPAL_KEYS:
                self._ids[principal] = int(entry['userId' if principal[0] == 'user' else 'teamId'])
            level = entry.get('permission')
            acl.append(acl_entry(principal, PERMISSION_NAMES.get(level, str(level))))
        return dict(folder, acl=sort_acl(acl))

    def owned(self, current: Dict[str, Any]) -> Dict[str, Any]:
        # Grafana omits an empty description from its answer.
        owned = {'uid': current['uid'], 'title': current.get('title'), 'parent_uid': current.get('parentUid') or '',
                 'description': current.get('description') or ''}
        if self.manages_permissions:
            owned['permissions'] = current.get('acl') or []
        return owned

    def wanted(self, current: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        wanted = drop_none({k: self.params[k] for k in ('uid', 'title', 'description', 'parent_uid')})
        if current is None:
            wanted.setdefault('parent_uid', '')
            wanted.setdefault('description', '')
        if self.manages_permissions:
            wanted['permissions'] = self._wanted_acl()
        return wanted

    def _wanted_acl(self) -> List[Dict[str, str]]:
        entries: Dict[Principal, str] = {}
        for item in self.params['permissions']:
            kind = next(k for k in PRINCIPALS if item.get(k) is not None)
            principal = self._resolve((kind, item[kind]))
            if principal in entries:
                self.module.fail_json(msg=f'{self.label}: permissions name {kind} {principal[1]!r} more than once')
            entries[principal] = item['permission']
        return sort_acl([acl_entry(p, level) for p, level in entries.items()])

    def _resolve(self, principal: Principal) -> Principal:
        """The principal as Grafana lists it (a user's login), its id remembered for the POST."""
        kind, name = principal
        if kind not in PRINCIPAL_KEYS or principal in self._ids:
            return principal
        try:
            if kind == 'user':
                user = self.client.user_by_login(name, self.label)
                principal, found_id = (kind, user.get('login') or name), user['id']
            else:
                found_id = self.client.team_by_name(name, self.label)['id']
        except GrafanaAPIError as exc:  # an unknown org (OrgNotFoundError) too
            if not self.check_mode or exc.status != 404:
                raise
            # In check mode the user or team may be created by an earlier task of the same play.
            self.module.warn(f'{exc.one_line()}; check mode assumes it will be created')
            return principal
        self._ids[principal] = int(found_id)
        return principal

    def _set_acl(self, entries: List[Dict[str, str]]) -> None:
        items = []
        for entry in entries:
            kind = next(k for k in PRINCIPALS if k in entry)
            item: Dict[str, Any] = {'permission': PERMISSION_LEVELS[entry['permission']]}
            if kind == 'role':
                item['role'] = entry['role']
            else:
                item[PRINCIPAL_KEYS[kind]] = self._ids[(kind, entry[kind])]
            items.append(item)
        self.api('POST', self.path + '/permissions', body={'items': items})

    def _folder_object(self, after: Dict[str, Any], resource_version: Optional[str]) -> Dict[str, Any]:
        spec = {'title': after['title']}
        if after['description']:
            spec['description'] = after['description']
        annotations = {FOLDER_ANNOTATION: after['parent_uid']} if after['parent_uid'] else {}
        return app_object(FOLDER_GROUP, 'Folder', after['uid'], spec, annotations, resource_version)

    def create(self, after: Dict[str, Any]) -> None:
        if self.serves_app_apis():
            self.api('POST', self.object_path(named=False), body=self._folder_object(after, None))
        else:
            body = {'uid': after['uid'], 'title': after['title']}
            if after['description']:
                body['description'] = after['description']
            if after['parent_uid']:
                body['parentUid'] = after['parent_uid']
            self.api('POST', '/api/folders', body=body)
        if 'permissions' in after:
            self._set_acl(after['permissions'])

    def update(self, current: Dict[str, Any], before: Dict[str, Any], after: Dict[str, Any]) -> None:
        renamed = (before['title'], before['description']) != (after['title'], after['description'])
        moved = before['parent_uid'] != after['parent_uid']
        if self.serves_app_apis() and (renamed or moved):
            # One PUT renames and moves (the parent is the grafana.app/folder annotation).
            body = self._folder_object(after, str(current.get('resourceVersion') or ''))
            self.api('PUT', self.object_path(), body=body)
        elif renamed or moved:
            self._update_legacy(current, after, renamed, moved)
        if before.get('permissions') != after.get('permissions') and 'permissions' in after:
            self._set_acl(after['permissions'])

    def _update_legacy(self, current: Dict[str, Any], after: Dict[str, Any], renamed: bool, moved: bool) -> None:
        if renamed:
            body = drop_none({'title': after['title'], 'description': after['description'],
                              'version': current.get('version'), 'overwrite': False})
            self.api('PUT', self.path, body=body)
        if moved:
            self.api('POST', self.path + '/move', body={'parentUid': after['parent_uid']})

    def delete(self, current: Dict[str, Any]) -> None:
        if self.params['force_delete_rules']:
            # /apis has no forceDeleteRules: the legacy route, still served by Grafana 13, deletes the rules too.
            self.api('DELETE', self.path, query={'forceDeleteRules': 'true'})
        elif self.serves_app_apis():
            self.api('DELETE', self.object_path())
        else:
            self.api('DELETE', self.path)


def main() -> None:
    run_resource(Folder, dict(
        state=dict(type='str', choices=['present', 'absent'], default='present'),
        uid=dict(type='str', required=True),
        title=dict(type='str'),
        description=dict(type='str'),
        parent_uid=dict(type='str'),
        force_delete_rules=dict(type='bool', default=False),
        permissions=dict(type='list', elements='dict', options=dict(
            user=dict(type='str'),
            team=dict(type='str'),
            role=dict(type='str', choices=['Viewer', 'Editor']),
            permission=dict(type='str', required=True, choices=list(PERMISSION_LEVELS)),
        ), mutually_exclusive=[['user', 'team', 'role']], required_one_of=[['user', 'team', 'role']]),
    ), required_if=[('state', 'present', ['title'])])


if __name__ == '__main__':
    main()
