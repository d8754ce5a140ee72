# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The Grafana objects the collection manages: how each is read, compared and written.

One class per kind (users, organizations and their members, teams, folders and their permissions, datasources,
dashboards), each a :class:`GrafanaResource`, with the options it takes (``*_OPTIONS``). The single-object modules
(grafana_user, grafana_organization, grafana_team, grafana_folder, grafana_datasource, grafana_dashboard) run one
object of a kind; grafana_cohort runs many of them at once (grafana_batch.py). Both use these classes, so an object
is read, compared and written the same way whichever module manages it.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional, Tuple

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_api import (
    DASHBOARD_GROUP,
    FOLDER_ANNOTATION,
    FOLDER_GROUP,
    MESSAGE_ANNOTATION,
    GrafanaAPIError,
    app_object,
    quote_path,
    same_login,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_resource import (
    MASK,
    SECRET_UPDATE_CHOICES,
    GrafanaResource,
    drop_none,
    secret_keys_changed,
    strip,
)


class User(GrafanaResource):
    kind = 'user'

    @property
    def label(self) -> str:
        return "user '{}'".format(self.params['login'])

    def read(self) -> Optional[Dict[str, Any]]:
        return self.client.find_user(self.params['login'], '')

    def owned(self, current: Dict[str, Any]) -> Dict[str, Any]:
        return {'login': current.get('login'), 'name': current.get('name', ''), 'email': current.get('email', ''),
                'is_admin': bool(current.get('isGrafanaAdmin'))}

    def wanted(self, current: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        if current is None and not self.params['password']:
            self.module.fail_json(msg=f"{self.label}: option 'password' is required to create a user")
        wanted = drop_none({k: self.params[k] for k in ('login', 'name', 'email', 'is_admin')})
        if current is None:
            wanted.setdefault('is_admin', False)
            self._refuse_taken_email(wanted.get('email') or wanted['login'])
            return wanted
        # Grafana compares logins and emails case-insensitively (and lowers them since Grafana 11).
        for key in ('login', 'email'):
            if key in wanted and same_login(wanted[key], current.get(key)):
                wanted[key] = current[key]
        return wanted

    def _refuse_taken_email(self, email: str) -> None:
        """Grafana refuses a new user whose email another user has (HTTP 412): say which user, in one line."""
        other = self.client.user_with_email(email, self.label)
        if other:
            self.module.fail_json(msg=f"{self.label}: no user has this login, and Grafana cannot create it: user "
                                      f"'{other.get('login')}' has the email '{email}'; "
                                      "give this user another one (option 'email')")

    def _send_password(self) -> bool:
        return bool(self.params['password']) and self.params['password_update'] == 'always'

    def differs(self, before: Dict[str, Any], after: Dict[str, Any]) -> bool:
        return before != after or self._send_password()

    def create(self, after: Dict[str, Any]) -> None:
        body = drop_none({'login': after['login'], 'name': after.get('name'), 'email': after.get('email'),
                          'password': self.params['password']})
        created = self.api('POST', '/api/admin/users', body=body, use_org=False)
        self.client.user_made(after['login'], after.get('email'), created, name=after.get('name') or '',
                              is_admin=after['is_admin'])
        if after['is_admin']:
            self._set_admin(created['id'], True)

    def _set_admin(self, user_id: int, is_admin: bool) -> None:
        self.api('PUT', f'/api/admin/users/{user_id}/permissions', body={'isGrafanaAdmin': is_admin}, use_org=False)

    def update(self, current: Dict[str, Any], before: Dict[str, Any], after: Dict[str, Any]) -> None:
        user_id = current['id']
        profile = ('login', 'name', 'email')
        if any(before[k] != after[k] for k in profile):
            self.api('PUT', f'/api/users/{user_id}', body={k: after[k] for k in profile}, use_org=False)
        if before['is_admin'] != after['is_admin']:
            self._set_admin(user_id, after['is_admin'])
        if self._send_password():
            self.api('PUT', f'/api/admin/users/{user_id}/password', body={'password': self.params['password']},
                     use_org=False)

    def delete(self, current: Dict[str, Any]) -> None:
        self.api('DELETE', f"/api/admin/users/{current['id']}", use_org=False)
        self.client.user_deleted(current['login'])

    def present_result(self, after: Dict[str, Any]) -> Dict[str, Any]:
        current = None if self.check_mode or not self.reread else self.read()
        return dict(self.owned(current), id=current['id']) if current else after

    def diff_views(self, before: Dict[str, Any], after: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
        if after and (not before or self._send_password()):
            after = dict(after, password=MASK)
        return before, after


def _by_login(users: List[Dict[str, Any]]) -> Dict[str, str]:
    return {u['login']: u['role'] for u in users}


def _as_list(roles: Dict[str, str]) -> List[Dict[str, str]]:
    return [{'login': login, 'role': roles[login]} for login in sorted(roles)]


class Organization(GrafanaResource):
    kind = 'organization'

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._resolved: Dict[str, str] = {}

    @property
    def label(self) -> str:
        return "organization '{}'".format(self.params['name'])

    def read(self) -> Optional[Dict[str, Any]]:
        known, org_id = self.client.known_org(self.params['name'])
        if org_id is not None:
            org: Optional[Dict[str, Any]] = {'id': org_id, 'name': self.params['name']}
        elif known:
            return None
        else:
            org = self.api_get(f"/api/orgs/name/{quote_path(self.params['name'])}", use_org=False)
        if org is None:
            return None
        members = self.api('GET', f"/api/orgs/{org['id']}/users", use_org=False) or []
        return dict(org, members=members)

    def owned(self, current: Dict[str, Any]) -> Dict[str, Any]:
        roles = {m['login']: m['role'] for m in current['members']}
        return {'name': current['name'], 'users': _as_list(roles)}

    def _member_login(self, ident: str, members: List[Dict[str, Any]]) -> str:
        """The login of the user an entry names: a member with that login, else the user with that login, else the
        user with that email (compared case-insensitively, as Grafana does); an unknown user stays as written."""
        for member in members:
            if same_login(member.get('login'), ident):
                return member['login']
        if ident not in self._resolved:
            user = self.client.find_user(ident, self.label, by_email=True)
            self._resolved[ident] = user['login'] if user else ident
        return self._resolved[ident]

    def wanted(self, current: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        members = current['members'] if current else []
        listed = {self._member_login(u['login'], members): u['role'] for u in self.params['users']}
        stored = {m['login']: m['role'] for m in members}
        if self.params['enforce_users']:
            caller = self.params['url_username']
            roles = dict(listed)
            if not self.params['token'] and caller in stored and caller not in roles:
                roles[caller] = stored[caller]
        else:
            roles = dict(stored, **listed)
        return {'name': self.params['name'], 'users': _as_list(roles)}

    def present_result(self, after: Dict[str, Any]) -> Dict[str, Any]:
        current = None if self.check_mode or not self.reread else self.read()
        if current is None:
            return after
        return dict(self.owned(current), id=current['id'])

    def _org_users(self, org_id: int, before: Dict[str, str], after: Dict[str, str],
                   members: Optional[List[Dict[str, Any]]] = None) -> None:
        """Adds, changes and removes members from ``before`` to ``after``; ``members`` (the org's member list, with
        the user ids a change or a removal needs) is read only when it is not given and such a step is due."""
        base = f'/api/orgs/{org_id}/users'
        changes = [login for login in after if login in before and before[login] != after[login]]
        removals = sorted(set(before) - set(after))
        if members is None and (changes or removals):
            members = self.api('GET', base, use_org=False) or []
        ids = {m['login']: m['userId'] for m in members or []}
        adds = [(login, role) for login, role in sorted(after.items()) if login not in before]
        self.each(self._add_user, [(base, f"{self.label} user '{login}'", login, role) for login, role in adds])
        for login, role in sorted(after.items()):
            if login in before and before[login] != role:
                obj = f"{self.label} user '{login}'"
                self.client.request('PATCH', f'{base}/{ids[login]}', obj, body={'role': role}, use_org=False)
        for login in removals:
            obj = f"{self.label} user '{login}'"
            self.client.request('DELETE', f'{base}/{ids[login]}', obj, use_org=False)

    def _add_user(self, base: str, obj: str, login: str, role: str) -> None:
        """Adds the user with this login. Grafana's POST takes a login *or an email* and tries the email first when
        the text holds an '@', so the user's own email (unique in Grafana) names it when it has one; the user
        Grafana added is checked, and taken out again if it is another one."""
        user = self.client.user_by_login(login, self.label, by_email=False)
        email = user.get('email') or ''
        key = email if '@' in email else login
        added = self.client.request('POST', base, obj, body={'loginOrEmail': key, 'role': role}, use_org=False) or {}
        if added.get('userId') not in (None, user['id']):
            self.client.request('DELETE', f"{base}/{added['userId']}", obj, use_org=False)
            self.module.fail_json(msg=f"{obj}: Grafana added another user (id {added['userId']}) for "
                                      f"'{key}'; it was removed again")

    def create(self, after: Dict[str, Any]) -> None:
        created = self.api('POST', '/api/orgs', body={'name': after['name']}, use_org=False)
        org_id = created['orgId']
        self.client.remember_org(after['name'], org_id, made=True)
        # Grafana makes the signed-in user Admin of the organization it creates, and no one else a member
        # (CreateWithMember). A caller signed in with a login the user list holds is that member, by its stored
        # login; otherwise (a token, or no list) the members are read.
        caller = None if self.params['token'] else self.client.listed_login(self.params['url_username'])
        members = None
        if caller is not None:
            stored = {caller: 'Admin'}
        else:
            members = self.api('GET', f'/api/orgs/{org_id}/users', use_org=False) or []
            stored = {m['login']: m['role'] for m in members}
        wanted = _by_login(after['users'])
        if not self.params['enforce_users']:
            wanted = dict(stored, **wanted)
        elif not self.params['token'] and self.params['url_username'] in stored:
            wanted.setdefault(self.params['url_username'], stored[self.params['url_username']])
        self._org_users(org_id, stored, wanted, members)

    def update(self, current: Dict[str, Any], before: Dict[str, Any], after: Dict[str, Any]) -> None:
        self._org_users(current['id'], _by_login(before['users']), _by_login(after['users']), current['members'])

    def delete(self, current: Dict[str, Any]) -> None:
        self.api('DELETE', f"/api/orgs/{current['id']}", use_org=False)
        self.client.remember_org(current['name'], None)


class Team(GrafanaResource):
    kind = 'team'
    org_content = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._resolved: Dict[str, str] = {}

    @property
    def label(self) -> str:
        return "team '{}'".format(self.params['name'])

    def read(self) -> Optional[Dict[str, Any]]:
        search = self.api('GET', '/api/teams/search', query={'name': self.params['name']}) or {}
        for team in search.get('teams') or []:
            if team.get('name') == self.params['name']:
                self.client.remember_team(team['name'], team['id'])
                return dict(team, members=self._members(team['id']))
        return None

    def _members(self, team_id: int) -> List[Dict[str, Any]]:
        return self.api('GET', f'/api/teams/{team_id}/members') or []

    def owned(self, current: Dict[str, Any]) -> Dict[str, Any]:
        return {'name': current['name'], 'email': current.get('email') or '',
                'members': sorted(m['login'] for m in current['members'])}

    def _member_login(self, ident: str, members: List[Dict[str, Any]]) -> str:
        """The login of the user an entry names: a member with that login, else the user with that login, else
        the user with that email (logins and emails compared case-insensitively, as Grafana does); an unknown
        user stays as written (adding it fails, or, in check mode, an earlier task may create it)."""
        for member in members:
            if same_login(member.get('login'), ident):
                return member['login']
        if ident not in self._resolved:
            user = self.client.find_user(ident, f'{self.label} member', by_email=True)
            self._resolved[ident] = user['login'] if user else ident
        return self._resolved[ident]

    def _wanted_members(self, members: List[Dict[str, Any]]) -> List[str]:
        logins = set()
        for ident in self.params['members']:
            logins.add(self._member_login(ident, members))
        if not self.params['enforce_members']:
            logins.update(m['login'] for m in members)
        return sorted(logins)

    def wanted(self, current: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        wanted = {'name': self.params['name'], 'members': self._wanted_members(current['members'] if current else [])}
        if self.params['email'] is not None:
            wanted['email'] = self.params['email']
        elif current is None:
            wanted['email'] = ''
        return wanted

    def _sync_members(self, team_id: int, members: List[Dict[str, Any]]) -> None:
        stored = {m['login']: m['userId'] for m in members}
        wanted = self._wanted_members(members)
        self.each(self._add_member, [(team_id, login) for login in wanted if login not in stored])
        self.each(lambda user_id: self.api('DELETE', f'/api/teams/{team_id}/members/{user_id}'),
                  [(stored[login],) for login in sorted(set(stored) - set(wanted))])

    def _add_member(self, team_id: int, login: str) -> None:
        user = self.client.user_by_login(login, f'{self.label} member', by_email=False)
        self.api('POST', f'/api/teams/{team_id}/members', body={'userId': user['id']})

    def create(self, after: Dict[str, Any]) -> None:
        created = self.api('POST', '/api/teams', body={'name': after['name'], 'email': after['email']})
        team_id = created['teamId']
        self.client.remember_team(after['name'], team_id)
        self._sync_members(team_id, self._members(team_id))

    def update(self, current: Dict[str, Any], before: Dict[str, Any], after: Dict[str, Any]) -> None:
        if before['email'] != after['email']:
            self.api('PUT', f"/api/teams/{current['id']}", body={'name': after['name'], 'email': after['email']})
        if before['members'] != after['members']:
            self._sync_members(current['id'], current['members'])

    def delete(self, current: Dict[str, Any]) -> None:
        self.api('DELETE', f"/api/teams/{current['id']}")
        self.client.remember_team(current['name'], None)

    def present_result(self, after: Dict[str, Any]) -> Dict[str, Any]:
        current = None if self.check_mode or not self.reread else self.read()
        return dict(self.owned(current), id=current['id']) if current else after


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
    org_content = True

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

    def _listed_folder(self) -> Optional[Dict[str, Any]]:
        """The folder from the organization's search list (one search for all its folders), when the list holds it
        as it is wanted (title and parent) and its description is not managed; else None, and it is read by uid.
        A folder that differs is always read in full, for what an update needs."""
        params = self.params
        if params['state'] != 'present' or params['description'] is not None or params['title'] is None:
            return None
        hit = self.client.search_hit('dash-folder', params['uid'], self.label)
        if hit is None or hit.get('title') != params['title'] or \
                (hit.get('folderUid') or '') != (params['parent_uid'] or ''):
            return None
        return {'uid': params['uid'], 'title': hit['title'], 'parentUid': hit.get('folderUid') or ''}

    def read(self) -> Optional[Dict[str, Any]]:
        folder = self._listed_folder() or self._read_folder()
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


# option name -> Grafana field; these are the fields the user owns
FIELDS = {
    'name': 'name', 'uid': 'uid', 'type': 'type', 'access': 'access', 'data_source_url': 'url',
    'user': 'user', 'database': 'database', 'basic_auth': 'basicAuth', 'basic_auth_user': 'basicAuthUser',
    'with_credentials': 'withCredentials', 'is_default': 'isDefault', 'json_data': 'jsonData',
}


class Datasource(GrafanaResource):
    kind = 'datasource'
    org_content = True

    @property
    def label(self) -> str:
        return "datasource '%s'" % (self.params['uid'] or self.params['name'])

    def read(self) -> Optional[Dict[str, Any]]:
        if self.params['uid']:
            found = self.api_get(f"/api/datasources/uid/{quote_path(self.params['uid'])}")
            if found is not None or self.params['state'] == 'absent':
                return found
        return self.api_get(f"/api/datasources/name/{quote_path(self.params['name'])}")

    def owned(self, current: Dict[str, Any]) -> Dict[str, Any]:
        view = {opt: current.get(field) for opt, field in FIELDS.items()}
        view['json_data'] = current.get('jsonData') or {}
        view['secure_json_fields'] = sorted(k for k, v in (current.get('secureJsonFields') or {}).items() if v)
        return view

    def wanted(self, current: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        if current is None and not self.params['type']:
            self.module.fail_json(msg=f"{self.label}: option 'type' is required to create a data source")
        wanted = drop_none({opt: self.params[opt] for opt in FIELDS})
        stored = self.owned(current)['secure_json_fields'] if current else []
        secrets = sorted(self.params['secure_json_data'] or {})
        wanted['secure_json_fields'] = sorted(set(stored) | set(secrets))
        return wanted

    def differs(self, before: Dict[str, Any], after: Dict[str, Any]) -> bool:
        return before != after or self._send_secrets(before)

    def _send_secrets(self, before: Dict[str, Any]) -> bool:
        return secret_keys_changed(self.params['secure_json_data'] or {}, before.get('secure_json_fields', []),
                                   self.params['secure_json_data_update'])

    def _body(self, after: Dict[str, Any], send_secrets: bool) -> Dict[str, Any]:
        body = drop_none({field: after.get(opt) for opt, field in FIELDS.items()})
        body.setdefault('access', 'proxy')
        if send_secrets and self.params['secure_json_data']:
            body['secureJsonData'] = {k: str(v) for k, v in self.params['secure_json_data'].items()}
        return body

    def create(self, after: Dict[str, Any]) -> None:
        self.api('POST', '/api/datasources', body=self._body(after, True))

    def update(self, current: Dict[str, Any], before: Dict[str, Any], after: Dict[str, Any]) -> None:
        body = self._body(after, self._send_secrets(before))
        body['version'] = current.get('version', 0)
        self.api('PUT', f"/api/datasources/uid/{quote_path(current['uid'])}", body=body)

    def delete(self, current: Dict[str, Any]) -> None:
        self.api('DELETE', f"/api/datasources/uid/{quote_path(current['uid'])}")

    def present_result(self, after: Dict[str, Any]) -> Dict[str, Any]:
        if self.check_mode or not self.reread:
            return after
        current = self.read()
        return self.owned(current) if current else after

    def diff_views(self, before: Dict[str, Any], after: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
        if after and self._send_secrets(before):
            after = dict(after, secure_json_data={k: MASK for k in self.params['secure_json_data']})
        return before, after


# Grafana rewrites these on every save; they are not the user's
DASHBOARD_SERVER_FIELDS = ('id', 'version')


class Dashboard(GrafanaResource):
    kind = 'dashboard'
    org_content = True

    def __init__(self, module: Any, client: Any) -> None:
        super().__init__(module, client)
        self.model = self._load_model()
        self.uid = self.params['uid'] or self.model.get('uid')
        if not self.uid:
            module.fail_json(msg='dashboard: set uid, or a uid in the dashboard JSON')

    def _load_model(self) -> Dict[str, Any]:
        model = self.params['dashboard']
        if self.params['src']:
            # Only reached without the action plugin: the file is read where the module runs.
            try:
                with open(self.params['src'], 'rb') as handle:
                    model = json.loads(handle.read().decode('utf-8'))
            except (OSError, ValueError) as exc:
                self.module.fail_json(msg='dashboard: cannot read {}: {}'.format(self.params['src'], exc))
        if isinstance(model, dict) and isinstance(model.get('dashboard'), dict):
            model = model['dashboard']  # accept an export with its "dashboard"/"meta" envelope
        return dict(model or {})

    @property
    def label(self) -> str:
        return "dashboard '%s'" % (self.uid or self.model.get('title'))

    @property
    def legacy_path(self) -> str:
        return f'/api/dashboards/uid/{quote_path(self.uid)}'

    def object_path(self, named: bool = True) -> str:
        return self.client.apis_path(DASHBOARD_GROUP, 'dashboards', self.uid if named else None)

    def read(self) -> Optional[Dict[str, Any]]:
        """The dashboard in the legacy shape (``dashboard``, ``meta.folderUid``), from whichever API is served."""
        if not self.serves_app_apis():
            return self.api_get(self.legacy_path)
        found = self.api_get(self.object_path())
        if found is None:
            return None
        metadata = found.get('metadata') or {}
        return {'dashboard': dict(found.get('spec') or {}, uid=self.uid),
                'meta': {'folderUid': (metadata.get('annotations') or {}).get(FOLDER_ANNOTATION) or ''},
                'resourceVersion': metadata.get('resourceVersion')}

    def owned(self, current: Dict[str, Any]) -> Dict[str, Any]:
        meta = current.get('meta') or {}
        return {
            'uid': self.uid,
            'folder_uid': meta.get('folderUid') or '',
            'model': strip(current.get('dashboard'), DASHBOARD_SERVER_FIELDS),
        }

    def wanted(self, current: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        if not self.model:
            self.module.fail_json(msg=f'{self.label}: dashboard or src is required with state=present')
        model = strip(self.model, DASHBOARD_SERVER_FIELDS)
        model['uid'] = self.uid
        return {'uid': self.uid, 'folder_uid': self.params['folder_uid'] or '', 'model': model}

    def _save(self, after: Dict[str, Any], version: Optional[int]) -> None:
        model = dict(after['model'])
        if version is not None:
            model['version'] = version
        body = {'dashboard': model, 'folderUid': after['folder_uid'], 'overwrite': False,
                'message': self.params['commit_message']}
        self.api('POST', '/api/dashboards/db', body=body)

    def _save_object(self, after: Dict[str, Any], resource_version: Optional[str]) -> None:
        """Create (POST) or update (PUT, only the version read: 409 on a concurrent change) the /apis object."""
        spec = {k: v for k, v in after['model'].items() if k != 'uid'}  # metadata.name carries the uid
        annotations = {MESSAGE_ANNOTATION: self.params['commit_message']}
        if after['folder_uid']:
            annotations[FOLDER_ANNOTATION] = after['folder_uid']
        body = app_object(DASHBOARD_GROUP, 'Dashboard', self.uid, spec, annotations, resource_version)
        if resource_version is None:
            self.api('POST', self.object_path(named=False), body=body)
        else:
            self.api('PUT', self.object_path(), body=body)

    def create(self, after: Dict[str, Any]) -> None:
        if self.serves_app_apis():
            self._save_object(after, None)
        else:
            self._save(after, None)

    def update(self, current: Dict[str, Any], before: Dict[str, Any], after: Dict[str, Any]) -> None:
        if self.serves_app_apis():
            self._save_object(after, str(current.get('resourceVersion') or ''))
        else:
            self._save(after, (current.get('dashboard') or {}).get('version'))

    def delete(self, current: Dict[str, Any]) -> None:
        self.api('DELETE', self.object_path() if self.serves_app_apis() else self.legacy_path)


class DashboardCopy(Dashboard):
    """A dashboard made from a model once: with ``overwrite`` false, a dashboard that exists is left as it is (its
    user may have changed it); with ``overwrite`` true it is a :class:`Dashboard`."""

    def read(self) -> Optional[Dict[str, Any]]:
        """Without ``overwrite`` a copy that exists is left as it is, so its existence is all there is to read: a
        copy the organization's dashboard list holds (one search for all the copies of the org) is not read
        again; one it lacks is read by its uid."""
        if not self.params.get('overwrite'):
            listed = self.client.search_hit('dash-db', self.uid, self.label)
            if listed is not None:
                return {'dashboard': {'uid': self.uid, 'title': listed.get('title') or ''},
                        'meta': {'folderUid': listed.get('folderUid') or ''}}
        return super().read()

    def wanted(self, current: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        if current is not None and not self.params.get('overwrite'):
            return self.owned(current)
        return super().wanted(current)


# -- the options of each kind (the single-object modules' argument specs, without the connection options) --------
STATE_OPTION = dict(type='str', choices=['present', 'absent'], default='present')

USER_OPTIONS: Dict[str, Any] = dict(
    state=STATE_OPTION,
    login=dict(type='str', required=True),
    name=dict(type='str'),
    email=dict(type='str'),
    password=dict(type='str', no_log=True),
    password_update=dict(type='str', choices=SECRET_UPDATE_CHOICES, default='on_create'),
    is_admin=dict(type='bool'),
)

ORGANIZATION_OPTIONS: Dict[str, Any] = dict(
    state=STATE_OPTION,
    name=dict(type='str', required=True),
    users=dict(type='list', elements='dict', default=[], options=dict(
        login=dict(type='str', required=True),
        role=dict(type='str', choices=['Admin', 'Editor', 'Viewer'], default='Viewer'),
    )),
    enforce_users=dict(type='bool', default=False),
)

TEAM_OPTIONS: Dict[str, Any] = dict(
    state=STATE_OPTION,
    name=dict(type='str', required=True),
    email=dict(type='str'),
    members=dict(type='list', elements='str', default=[]),
    enforce_members=dict(type='bool', default=False),
)

FOLDER_PERMISSION_OPTIONS: Dict[str, Any] = dict(
    user=dict(type='str'),
    team=dict(type='str'),
    role=dict(type='str', choices=['Viewer', 'Editor']),
    permission=dict(type='str', required=True, choices=list(PERMISSION_LEVELS)),
)

FOLDER_OPTIONS: Dict[str, Any] = dict(
    state=STATE_OPTION,
    uid=dict(type='str', required=True),
    title=dict(type='str'),
    description=dict(type='str'),
    parent_uid=dict(type='str'),
    force_delete_rules=dict(type='bool', default=False),
    permissions=dict(type='list', elements='dict', options=FOLDER_PERMISSION_OPTIONS,
                     mutually_exclusive=[['user', 'team', 'role']], required_one_of=[['user', 'team', 'role']]),
)
FOLDER_REQUIRED_IF = [('state', 'present', ['title'])]

DATASOURCE_OPTIONS: Dict[str, Any] = dict(
    state=STATE_OPTION,
    name=dict(type='str', required=True),
    uid=dict(type='str'),
    type=dict(type='str'),
    access=dict(type='str', choices=['proxy', 'direct']),
    data_source_url=dict(type='str', aliases=['ds_url']),
    user=dict(type='str'),
    database=dict(type='str'),
    basic_auth=dict(type='bool'),
    basic_auth_user=dict(type='str'),
    with_credentials=dict(type='bool'),
    is_default=dict(type='bool'),
    json_data=dict(type='dict'),
    secure_json_data=dict(type='dict', no_log=True),
    secure_json_data_update=dict(type='str', choices=SECRET_UPDATE_CHOICES, default='on_create'),
)

DASHBOARD_OPTIONS: Dict[str, Any] = dict(
    state=STATE_OPTION,
    dashboard=dict(type='dict'),
    src=dict(type='path'),
    uid=dict(type='str'),
    folder_uid=dict(type='str', default=''),
    commit_message=dict(type='str', default='Saved by data2ai.grafana_stack'),
)
DASHBOARD_MUTUALLY_EXCLUSIVE = [['dashboard', 'src']]
