#!/usr/bin/python
# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r"""
---
module: influxdb_tokens
short_description: InfluxDB 2's admin token checked and Grafana's read-only token settled, in one task
description:
  - Internal to the collection's influxdb role, which runs it on every run instead of one task per step.
  - Waits for InfluxDB (O(health_check), as M(data2ai.grafana_stack.service_health) does), then checks that InfluxDB
    accepts O(admin_token) by listing the authorizations of O(admin_user). A refused token (HTTP 401) fails the task
    with a message that says how to set it back and rotate it.
  - With O(settle_read_token=true) (the default) it finds O(bucket) in O(org) (a missing bucket fails the task),
    lists the org's authorizations and decides whether the read-only token kept on the controller is still the one
    InfluxDB holds. It is when InfluxDB accepts it for listing the org's buckets and lists O(bucket) to it, exactly
    one authorization is described as O(read_token_description), that authorization is active, its only permission
    is C(read) on O(bucket) of its org, and O(admin_token_rotated) is false.
  - When the kept token is not valid, the module deletes the authorizations described as O(read_token_description)
    and creates a new one whose only permission is C(read) on O(bucket). InfluxDB makes the token (a value cannot be
    chosen) and, from 2.9 on, lists tokens hashed, so the action plugin keeps the new value on the controller in
    O(credentials_dir)C(/influxdb_read_token) (mode 0600, the directory 0700) and the next runs try it.
  - Returns the token for the rest of the play as the fact C(influxdb_read_token), and sets the fact
    C(influxdb_read_token_changed) in the run that created it.
  - The HTTP requests go from the managed host, where InfluxDB is published on its loopback; the controller file is
    read and written by the action plugin in the controller's own process.
author:
  - data2ai training team (@data2ai)
version_added: 1.1.0
options:
  api_url:
    description: InfluxDB's HTTP API as the managed host reaches it, for example V(http://127.0.0.1:8086).
    type: str
    required: true
  admin_token:
    description: The operator (all-access) token the module uses for every request. Never shown.
    type: str
    required: true
  admin_user:
    description: The user whose authorizations list checks O(admin_token) (and are returned with
      O(settle_read_token=false)).
    type: str
    default: admin
  org:
    description: The org of O(bucket). Required with O(settle_read_token=true).
    type: str
  bucket:
    description: The bucket the read-only token may read. Required with O(settle_read_token=true).
    type: str
  read_token_description:
    description: The description of the read-only token's authorization; later runs find it by it. Required with
      O(settle_read_token=true).
    type: str
  credentials_dir:
    description:
      - Directory on the controller where the read-only token is kept, in the file C(influxdb_read_token) (mode
        0600); the directory is created with mode 0700 when missing.
      - Read and written by the action plugin on the controller. Required with O(settle_read_token=true).
    type: path
  read_token:
    description:
      - The kept read-only token. The action plugin sets it from O(credentials_dir)C(/influxdb_read_token); a value
        given in the task is replaced. Never shown.
    type: str
  admin_token_rotated:
    description: Whether the admin token was rotated in this run; a rotation replaces the read-only token too.
    type: bool
    default: false
  settle_read_token:
    description:
      - V(true) settles the read-only token after the admin token check.
      - V(false) only waits for InfluxDB and checks the admin token, and returns the authorizations of O(admin_user)
        in RV(admin_authorizations) (the influxdb role's rotation of the admin token starts with it).
    type: bool
    default: true
  health_check:
    description:
      - The health check to wait for first, one entry of M(data2ai.grafana_stack.service_health)'s O(ignore:checks),
        for example the C(influxdb_health_check) of the influxdb role. Omitted, the module does not wait.
    type: dict
  health_timeout:
    description: Seconds to wait for O(health_check).
    type: float
    default: 120
  request_timeout:
    description: Seconds one request to InfluxDB may take.
    type: float
    default: 10
attributes:
  check_mode:
    support: full
    description: Reads as in a normal run and reports the read-only token it would create; creates and deletes
      nothing and writes no file.
  diff_mode:
    support: full
    description: Shows the read-only authorizations that would be replaced (their ids) and why, never a token.
  idempotent:
    support: full
    description: A second run finds the token the first one kept valid and changes nothing.
notes:
  - The tokens never appear in the result, its diff or an error (O(admin_token) and O(read_token) are C(no_log)
    options). In a run that returns the read-only token as a fact the action plugin hides the whole result as
    C(no_log) would (so the diff of a normal run that creates a token is not shown; check mode shows it).
  - The fact is a host fact, so a persistent fact cache (C(fact_caching)) would keep the read-only token; the
    influxdb role's defaults need C(inject_facts_as_vars) (Ansible's default) to see it as C(influxdb_read_token).
  - Uses the collection's HTTP layer (pure Python standard library); nothing to install on the host.
seealso:
  - module: data2ai.grafana_stack.service_health
    description: The health wait this module runs first.
"""

EXAMPLES = r"""
- name: Check the admin token and settle the read-only token for Grafana
  data2ai.grafana_stack.influxdb_tokens:
    api_url: "{{ influxdb_api_url }}"
    admin_token: "{{ influxdb_admin_token_effective }}"
    admin_user: "{{ influxdb_admin_user }}"
    org: "{{ influxdb_org }}"
    bucket: "{{ influxdb_bucket }}"
    read_token_description: "{{ influxdb_read_token_description }}"
    credentials_dir: "{{ influxdb_credentials_dir }}"
    admin_token_rotated: "{{ influxdb_admin_token_rotated | default(false) }}"
    health_check: "{{ influxdb_health_check }}"

- name: Only check the admin token, and list the admin user's authorizations
  data2ai.grafana_stack.influxdb_tokens:
    api_url: http://127.0.0.1:8086
    admin_token: "{{ influxdb_admin_token_effective }}"
    settle_read_token: false
  register: influxdb_token_check
"""

RETURN = r"""
ansible_facts:
  description: The read-only token for the rest of the play. Not returned in check mode when a token would be
    created (there is none yet), nor with O(settle_read_token=false).
  returned: with O(settle_read_token=true)
  type: dict
  contains:
    influxdb_read_token:
      description: The read-only token (the kept one, or the new one).
      type: str
    influxdb_read_token_changed:
      description: V(true), only in the run that created a new read-only token.
      type: bool
read_token_created:
  description: Whether a new read-only token was created (in check mode, would be).
  returned: with O(settle_read_token=true)
  type: bool
  sample: false
reason:
  description: Why the kept read-only token is not valid, or V(null) when it is.
  returned: with O(settle_read_token=true)
  type: str
  sample: no read-only token is kept on the controller
deleted_authorizations:
  description: The ids of the earlier read-only authorizations deleted (in check mode, that would be).
  returned: with O(settle_read_token=true)
  type: list
  elements: str
  sample: ["0a1b2c3d4e5f6a7b"]
bucket_id:
  description: The id of O(bucket).
  returned: with O(settle_read_token=true)
  type: str
  sample: "5f0e1d2c3b4a5968"
org_id:
  description: The id of O(org).
  returned: with O(settle_read_token=true)
  type: str
  sample: "1a2b3c4d5e6f7081"
admin_authorizations:
  description: The authorizations of O(admin_user) as InfluxDB lists them, without any token value.
  returned: with O(settle_read_token=false)
  type: list
  elements: dict
  sample: [{id: "0a1b2c3d4e5f6a7b", description: "admin's Token", orgID: "1a2b3c4d5e6f7081",
            userID: "2b3c4d5e6f708192", status: active, permissions: []}]
admin_token_refused:
  description: V(true) when the task failed because InfluxDB refuses O(admin_token).
  returned: on failure
  type: bool
msg:
  description: What the task did, or why it failed.
  returned: always
  type: str
  sample: the kept read-only token for bucket training is valid
"""

# Ansible modules keep their imports after the documentation strings.
import json  # noqa: E402
from typing import Any, Callable, Dict, List, Optional  # noqa: E402
from urllib.parse import quote, urlencode  # noqa: E402

from ansible.module_utils.basic import AnsibleModule  # noqa: E402
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.health import (  # noqa: E402
    HealthConfigError,
    build_checks,
    wait_for_services,
    with_container_logs,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.http_transport import (  # noqa: E402
    HttpTransport,
    NoAnswer,
    TransportError,
    body_message,
    decode_json,
    one_line,
    request,
)

ARGUMENT_SPEC = {
    'api_url': {'type': 'str', 'required': True},
    'admin_token': {'type': 'str', 'required': True, 'no_log': True},
    'admin_user': {'type': 'str', 'default': 'admin'},
    'org': {'type': 'str'},
    'bucket': {'type': 'str'},
    'read_token_description': {'type': 'str', 'no_log': False},
    'credentials_dir': {'type': 'path'},
    'read_token': {'type': 'str', 'no_log': True},
    'admin_token_rotated': {'type': 'bool', 'default': False},
    'settle_read_token': {'type': 'bool', 'default': True},
    'health_check': {'type': 'dict'},
    'health_timeout': {'type': 'float', 'default': 120},
    'request_timeout': {'type': 'float', 'default': 10},
}
REQUIRED_IF = [('settle_read_token', True, ('org', 'bucket', 'read_token_description', 'credentials_dir'))]

#: requests that may pass on a second try are tried up to this many times more (a POST only when it never left)
RETRIES = 2
HEALTH_INTERVAL = 1.0


class InfluxDBError(Exception):
    """A request failed, or InfluxDB answered what the task cannot go on with; the message is one line."""


class AdminTokenRefused(InfluxDBError):
    """InfluxDB answered 401 to the admin token."""


class InfluxDB:
    """The few calls of InfluxDB's v2 API the module makes, over the collection's HTTP layer."""

    def __init__(self, api_url: str, admin_token: str, transport: Any, timeout: float = 10,
                 sleep: Optional[Callable[[float], None]] = None) -> None:
        self.api_url = api_url.rstrip('/')
        self.admin_token = admin_token
        self.transport = transport
        self.timeout = timeout
        self.sleep = sleep

    def call(self, method: str, path: str, query: Optional[Dict[str, str]] = None, body: Any = None,
             token: Optional[str] = None, expect: tuple = (200,)) -> tuple:
        """One request with ``token`` (the admin token by default); (status, decoded JSON body). A status outside
        ``expect`` raises InfluxDBError naming the request, the status and InfluxDB's message."""
        url = self.api_url + path + ('?' + urlencode(query) if query else '')
        headers = {'Authorization': 'Token ' + (self.admin_token if token is None else token),
                   'Accept': 'application/json'}
        data = None
        if body is not None:
            headers['Content-Type'] = 'application/json'
            data = json.dumps(body).encode('utf-8')
        extra = {'sleep': self.sleep} if self.sleep is not None else {}
        try:
            response = request(self.transport, method, url, headers, data, timeout=self.timeout, retries=RETRIES,
                               **extra)
        except NoAnswer as exc:
            raise InfluxDBError(f'{method} {self.api_url}{path}: {exc.describe(self.timeout)}') from None
        except TransportError as exc:
            raise InfluxDBError(f'{method} {self.api_url}{path}: {one_line(exc)}') from None
        if response.status not in expect:
            message = one_line(body_message(response.body, response.reason), 300)
            raise InfluxDBError(f'{method} {self.api_url}{path}: HTTP {response.status}: {message}')
        return response.status, decode_json(response.body)


# --------------------------------------------------------------------------
# The admin token
# --------------------------------------------------------------------------


def without_tokens(authorizations: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """Authorizations as listed, without their token values (InfluxDB before 2.9 lists them in clear)."""
    return [{key: value for key, value in auth.items() if key != 'token'} for auth in authorizations]


def check_admin_token(api: InfluxDB, admin_user: str) -> List[Dict[str, Any]]:
    """The authorizations of ``admin_user``, listed with the admin token; AdminTokenRefused on HTTP 401."""
    status, body = api.call('GET', '/api/v2/authorizations', {'user': admin_user}, expect=(200, 401))
    if status == 401:
        raise AdminTokenRefused(
            f'InfluxDB at {api.api_url} refuses the admin token. InfluxDB 2 makes its tokens itself and reads '
            'DOCKER_INFLUXDB_INIT_ADMIN_TOKEN on its first start only, so changing the variable does not change the '
            'token: set it back to the token InfluxDB holds, then rotate with -e influxdb_admin_token_rotate=true.')
    return without_tokens(listed(body, 'authorizations'))


def listed(body: Any, key: str) -> List[Dict[str, Any]]:
    """The list ``key`` of an InfluxDB listing; InfluxDBError when the answer is not one."""
    items = body.get(key) if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise InfluxDBError(f'InfluxDB answered a listing without "{key}"')
    return [item for item in items if isinstance(item, dict)]


# --------------------------------------------------------------------------
# The read-only token
# --------------------------------------------------------------------------


def read_permissions(bucket: Dict[str, Any]) -> List[Dict[str, Any]]:
    """The one permission of the read-only token: read on the bucket, in its org."""
    return [{'action': 'read', 'resource': {'type': 'buckets', 'id': bucket['id'], 'orgID': bucket['orgID']}}]


def kept_token_problem(kept_token_buckets: Optional[List[str]], bucket: Dict[str, Any],
                       matching: List[Dict[str, Any]], admin_token_rotated: bool) -> Optional[str]:
    """Why the kept read-only token is not the one InfluxDB holds for the bucket, or None when it is.

    ``kept_token_buckets`` is None when no token is kept or InfluxDB refused it (401), else the ids of the buckets
    it lists; ``matching`` the org's authorizations described as the read-only token's.
    """
    if admin_token_rotated:
        return 'the admin token was rotated in this run'
    if kept_token_buckets is None:
        return 'no read-only token is kept on the controller, or InfluxDB refuses it'
    if bucket['id'] not in kept_token_buckets:
        return f"the kept read-only token does not see bucket {bucket.get('name', bucket['id'])}"
    if len(matching) != 1:
        return f'InfluxDB holds {len(matching)} authorizations with the read-only token\'s description, not 1'
    auth = matching[0]
    if auth.get('status') != 'active':
        return f"the read-only token's authorization is {auth.get('status') or 'without a status'}"
    permissions = auth.get('permissions') or []
    resources = [p.get('resource') or {} for p in permissions if isinstance(p, dict)]
    if ([p.get('action') for p in permissions if isinstance(p, dict)] != ['read']
            or [r.get('type') for r in resources] != ['buckets']
            or [r.get('id') for r in resources] != [bucket['id']]
            or [r.get('orgID') for r in resources] != [bucket['orgID']]):
        return "the read-only token's authorization has other permissions than read on the bucket"
    return None


def find_bucket(api: InfluxDB, org: str, bucket_name: str) -> Dict[str, Any]:
    _status, body = api.call('GET', '/api/v2/buckets', {'org': org, 'name': bucket_name})
    buckets = listed(body, 'buckets')
    if not buckets:
        raise InfluxDBError(f'InfluxDB at {api.api_url} has no bucket {bucket_name} in org {org}.')
    return buckets[0]


def buckets_seen_by(api: InfluxDB, token: Optional[str], org_id: str) -> Optional[List[str]]:
    """The ids of the buckets ``token`` lists in the org, or None when there is no token or InfluxDB refuses it.

    Tried with a request the token's own permission allows: listing the buckets it can read."""
    if not token:
        return None
    status, body = api.call('GET', '/api/v2/buckets', {'orgID': org_id}, token=token, expect=(200, 401))
    if status == 401:
        return None
    return [str(b.get('id')) for b in listed(body, 'buckets')]


def settle_read_token(api: InfluxDB, org: str, bucket_name: str, description: str, kept_token: Optional[str],
                      admin_token_rotated: bool, check_mode: bool) -> Dict[str, Any]:
    """Keeps the kept read-only token when it is valid, else replaces its authorizations with a new one.

    The result's ``read_token`` is the token for the rest of the play (None in check mode when one would be made).
    """
    bucket = find_bucket(api, org, bucket_name)
    org_id = str(bucket['orgID'])
    _status, body = api.call('GET', '/api/v2/authorizations', {'orgID': org_id})
    matching = [a for a in listed(body, 'authorizations') if a.get('description') == description]
    problem = kept_token_problem(buckets_seen_by(api, kept_token, org_id), bucket, matching, admin_token_rotated)
    result: Dict[str, Any] = {'changed': False, 'read_token_created': False, 'reason': problem,
                              'deleted_authorizations': [], 'bucket_id': str(bucket['id']), 'org_id': org_id}
    if problem is None:
        result.update(read_token=kept_token, msg=f'the kept read-only token for bucket {bucket_name} is valid')
        return result
    earlier = [str(a.get('id')) for a in matching]
    result.update(changed=True, read_token_created=True, deleted_authorizations=earlier, read_token=None)
    result['diff'] = {
        'before': {'bucket': bucket_name, 'read_only_authorizations': earlier, 'kept_token': problem},
        'after': {'bucket': bucket_name, 'read_only_authorizations': ['(a new one, made by InfluxDB)'],
                  'kept_token': 'replaced by the new token'},
    }
    if check_mode:
        result['msg'] = f'check mode: a read-only token for bucket {bucket_name} would be created: {problem}'
        return result
    for auth_id in earlier:
        api.call('DELETE', '/api/v2/authorizations/' + quote(auth_id, safe=''), expect=(204, 404))
    _status, created = api.call('POST', '/api/v2/authorizations', body={
        'orgID': org_id, 'description': description, 'permissions': read_permissions(bucket)}, expect=(201,))
    token = created.get('token') if isinstance(created, dict) else None
    if not token:
        raise InfluxDBError(f'InfluxDB at {api.api_url} created the read-only token but did not show its value')
    result.update(read_token=token, msg=f'created a new read-only token for bucket {bucket_name}: {problem}')
    return result


# --------------------------------------------------------------------------
# The module
# --------------------------------------------------------------------------


def wait_for_influxdb(module: AnsibleModule, raw_check: Dict[str, Any], timeout: float, request_timeout: float) -> None:
    try:
        checks = build_checks([raw_check])
    except HealthConfigError as exc:
        module.fail_json(msg=f'health_check: {exc}')
    for check in checks:
        module.no_log_values.update(check.secrets)
    report = wait_for_services(checks, timeout=timeout, interval=min(HEALTH_INTERVAL, timeout),
                               request_timeout=min(request_timeout, timeout))
    if report.unhealthy:
        module.fail_json(msg='\n'.join(with_container_logs(checks, report, 10)))


def run(module: AnsibleModule, transport: Any) -> Dict[str, Any]:
    """The module's work on ``transport``; fails the module on any error."""
    params = module.params
    if params['health_check']:
        wait_for_influxdb(module, params['health_check'], params['health_timeout'], params['request_timeout'])
    api = InfluxDB(params['api_url'], params['admin_token'], transport, params['request_timeout'])
    try:
        admin_authorizations = check_admin_token(api, params['admin_user'])
        if not params['settle_read_token']:
            return {'changed': False, 'admin_authorizations': admin_authorizations,
                    'msg': f'InfluxDB accepts the admin token ({len(admin_authorizations)} authorizations of '
                           f"{params['admin_user']})"}
        result = settle_read_token(api, params['org'], params['bucket'], params['read_token_description'],
                                   params['read_token'], params['admin_token_rotated'], module.check_mode)
    except AdminTokenRefused as exc:
        module.fail_json(msg=str(exc), admin_token_refused=True)
    except InfluxDBError as exc:
        module.fail_json(msg=str(exc))
    if not module._diff:
        result.pop('diff', None)
    return result


def main() -> None:
    module = AnsibleModule(argument_spec=ARGUMENT_SPEC, required_if=REQUIRED_IF, supports_check_mode=True)
    transport = HttpTransport(timeout=module.params['request_timeout'])
    try:
        result = run(module, transport)
    finally:
        transport.close()
    module.exit_json(**result)


if __name__ == '__main__':
    main()
