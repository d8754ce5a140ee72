# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""One HTTP client for Grafana's API, shared by every module of the collection.

It owns authentication, org selection per request (``X-Grafana-Org-Id``), JSON encoding and the mapping of
every error to one line: ``<object>: HTTP <status> <Grafana message>``.

Connections, keep-alive, TLS, proxies, retries (idempotent requests only), redirects (credentials dropped when
one leaves the origin) and error text are the collection's one HTTP layer, ``http_transport``; see its
docstring for the policies. A client holds one ``HttpTransport`` (or the transport given to it, such as the
in-memory one of the unit tests) and may be shared by threads: each thread keeps its own connection, and the
answers the client remembers (the org id, the server's version, the namespace) are computed once under a lock.

It also knows which API family the server offers. Grafana 13 deprecates ``/api/dashboards`` and
``/api/folders`` in favour of the app-platform APIs
``/apis/<group>/v1/namespaces/<namespace>/<resource>[/<name>]`` (Kubernetes-style objects;
grafana/grafana docs/sources/developer-resources/api-reference/http-api/apis.md). The choice is made
from the version ``GET /api/health`` reports, never from a user setting; a hidden version
(``[auth.anonymous] hide_version``) keeps the legacy APIs, which Grafana 13 still serves.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from typing import Any, Dict, Optional, Set, Tuple
from urllib.parse import quote, urlencode

from ansible.module_utils.basic import env_fallback
from ansible.module_utils.common.text.converters import to_native, to_text
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.http_transport import (
    MAX_RETRIES,
    BadRedirect,
    HttpTransport,
    NoAnswer,
    basic_auth,
    body_message,
    cookies_set,
    decode_json,
    one_line,
    request,
)

ORG_HEADER = 'X-Grafana-Org-Id'
PROVENANCE_HEADER = 'X-Disable-Provenance'
MAX_MESSAGE_LENGTH = 300
#: the users and organizations read_user_list and read_org_ids ask for in one page (Grafana's default page size)
LIST_PAGE = 1000
#: the folders and dashboards search_hit asks for in one page (Grafana's search answers at most 5000 per page)
SEARCH_PAGE = 5000
#: first Grafana major whose dashboards and folders are managed through /apis/.../v1
APPS_API_MAJOR = 13
APPS_API_VERSION = 'v1'
DASHBOARD_GROUP = 'dashboard.grafana.app'
FOLDER_GROUP = 'folder.grafana.app'
#: the parent folder of a dashboard or folder object
FOLDER_ANNOTATION = 'grafana.app/folder'
#: the version-history message of a dashboard save
MESSAGE_ANNOTATION = 'grafana.app/message'


def grafana_argument_spec() -> Dict[str, Any]:
    """Connection options, documented in the ``data2ai.grafana_stack.grafana`` doc fragment."""
    return dict(
        url=dict(type='str', required=True, aliases=['grafana_url'],
                 fallback=(env_fallback, ['GRAFANA_URL'])),
        url_username=dict(type='str', default='admin', aliases=['grafana_user'],
                          fallback=(env_fallback, ['GRAFANA_USER'])),
        url_password=dict(type='str', no_log=True, aliases=['grafana_password'],
                          fallback=(env_fallback, ['GRAFANA_PASSWORD'])),
        token=dict(type='str', no_log=True, aliases=['grafana_api_key'],
                   fallback=(env_fallback, ['GRAFANA_TOKEN'])),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        client_cert=dict(type='path'),
        client_key=dict(type='path', no_log=False),
        timeout=dict(type='int', default=30),
        retries=dict(type='int', default=3),
        use_proxy=dict(type='bool', default=True),
    )


def org_argument_spec() -> Dict[str, Any]:
    """Org selection options, documented in the ``data2ai.grafana_stack.grafana.org`` fragment."""
    return dict(
        org_id=dict(type='int'),
        org_name=dict(type='str'),
    )


ORG_MUTUALLY_EXCLUSIVE = [['org_id', 'org_name']]


class GrafanaAPIError(Exception):
    """An API call failed; ``str()`` is the one-line message the module reports."""

    def __init__(self, obj: str, status: Optional[int], message: str, body: Any = None,
                 retryable: Optional[bool] = None, unsent: bool = False) -> None:
        self.obj = obj
        self.status = status
        self.message = message
        self.body = body
        # Connection errors and 5xx may pass; a 4xx or a refused certificate will not.
        self.retryable = (status is None or status >= 500) if retryable is None else retryable
        # True only when the request certainly never reached the server (connection refused).
        self.unsent = unsent
        super().__init__(self.one_line())

    def one_line(self) -> str:
        status = f'HTTP {self.status}' if self.status is not None else 'connection error'
        return one_line(f'{self.obj}: {status} {self.message}', MAX_MESSAGE_LENGTH)


class OrgNotFoundError(GrafanaAPIError):
    """The organization named by ``org_name`` does not exist."""


def major_version(version: Any) -> Optional[int]:
    """12 from ``"12.3.0"``; None when Grafana hides its version or reports something else."""
    head = to_text(version or '').strip().split('.', 1)[0]
    return int(head) if head.isdigit() else None


def org_namespace(org_id: int) -> str:
    """The /apis namespace of an org in Grafana OSS: ``default`` for org 1, else ``org-<id>``.

    Grafana refuses ``org-1`` ("use default rather than org-1": grafana/authlib types/namespace.go
    ParseNamespace; OrgNamespaceFormatter writes ``default`` for org 1).
    """
    return 'default' if int(org_id) == 1 else f'org-{int(org_id)}'


def app_object(group: str, kind: str, name: str, spec: Dict[str, Any], annotations: Dict[str, str],
               resource_version: Optional[str] = None) -> Dict[str, Any]:
    """The body of an /apis create or update: ``apiVersion``, ``kind``, ``metadata`` and ``spec``.

    With ``resource_version`` the update applies only to that version of the object (HTTP 409 otherwise).
    """
    metadata: Dict[str, Any] = {'name': name}
    if annotations:
        metadata['annotations'] = dict(annotations)
    if resource_version:
        metadata['resourceVersion'] = resource_version
    return {'apiVersion': f'{group}/{APPS_API_VERSION}', 'kind': kind, 'metadata': metadata, 'spec': spec}


def quote_path(value: Any) -> str:
    """Quote one path segment (names may hold spaces or slashes)."""
    return quote(to_native(value), safe='')


class GrafanaClient:
    """HTTP client for one Grafana; the org is chosen per request, never switched."""

    def __init__(self, params: Dict[str, Any], sleep=time.sleep, transport: Any = None) -> None:
        self.base_url = params['url'].rstrip('/')
        self.token = params.get('token')
        self.username = params.get('url_username')
        self.password = params.get('url_password')
        self.validate_certs = params.get('validate_certs', True)
        self.ca_path = params.get('ca_path') or None  # empty: the system's CAs
        self.client_cert = params.get('client_cert')
        self.client_key = params.get('client_key')
        self.timeout = params.get('timeout') or 30
        self.retries = max(0, min(int(params.get('retries') or 0), MAX_RETRIES))
        self.use_proxy = params.get('use_proxy', True)
        self.org_id: Optional[int] = params.get('org_id')
        self._org_name: Optional[str] = params.get('org_name')
        self._sleep = sleep
        self._major: Optional[int] = None
        self._major_known = False
        self._namespace: Optional[str] = None
        # What the lists read once (read_user_list, read_org_ids) hold, shared by the client's copies (OrgClients):
        # users by lower-case login, organizations' ids by name, and whether each list is the whole of it (then an
        # object it lacks does not exist, unless this client made it: such users are in _users_made).
        self._users: Dict[str, Dict[str, Any]] = {}
        self._users_made: Dict[str, str] = {}  # lower-case login: lower-case email (the login when none)
        self._org_ids: Dict[str, int] = {}
        # Organizations this client made, each with the labels of the objects it has made in it since: Grafana
        # makes an organization empty but for its creator (CreateWithMember, pkg/services/org/orgimpl/store.go), so
        # an object of such an organization that the client has not made does not exist, and is not read.
        self._orgs_made: Dict[int, Set[str]] = {}
        self._complete: Dict[str, bool] = {'users': False, 'orgs': False}
        # The cookies of the session start_session opened (name: value), shared by the client's copies; empty:
        # every request carries basic authentication.
        self._session: Dict[str, str] = {}
        # Guards only the session (never held while sending: a thread holding a request slot may take it).
        self._session_lock = threading.Lock()
        # At most this many requests in flight at once over the client and its copies (limit_requests); None: no
        # limit of the client's own.
        self._slots: Optional[threading.BoundedSemaphore] = None
        # Teams' ids by (org id, exact name), as this client read, made or deleted them: a folder permission naming
        # a team the run has just made or read does not search for it again.
        self._team_ids: Dict[Tuple[Optional[int], str], int] = {}
        # Each organization's folders and dashboards as one search listed them (search_hit), by (type, uid), with
        # the lock its first reader holds while the others wait for the same list.
        self._search_lists: Dict[Optional[int], Tuple[threading.Lock, Dict[Tuple[Any, str], Dict[str, Any]]]] = {}
        # Guards what the client learns once (org id, version, namespace) when threads share it.
        self._lock = threading.RLock()
        self.transport = transport if transport is not None else HttpTransport(
            timeout=self.timeout, validate_certs=self.validate_certs, ca_path=self.ca_path,
            client_cert=self.client_cert, client_key=self.client_key, use_proxy=self.use_proxy)

    def close(self) -> None:
        """Close the kept connections (a module's process ends anyway; long-lived callers close)."""
        self.transport.close()

    def limit_requests(self, most: int) -> None:
        """At most ``most`` requests in flight at once, however many threads send them (a batch's objects, and the
        members an object adds several at a time); call before the client is copied."""
        self._slots = threading.BoundedSemaphore(max(1, int(most)))

    # -- a login session -----------------------------------------------
    # With basic authentication Grafana checks the password on every request: the basic client hashes it
    # (PBKDF2-SHA256, 10000 rounds, pkg/util/encoding.go EncodePassword) each time. A caller that sends many
    # requests logs in once instead, as Grafana's login form does (POST /login, pkg/api/login.go LoginPost), and
    # sends the session cookie it set; the session client then looks the token up by its hash
    # (pkg/services/authn/clients/session.go). The organization of each request is still chosen by the org header.
    def start_session(self) -> bool:
        """Log in once for the requests that follow (a password, not a token); whether a session is open. Any
        refusal (a wrong password, a login form turned off) leaves basic authentication on every request, and the
        first request then says what is wrong, as it would without a session."""
        if self.token or self.username is None or self.password is None:
            return False
        body = json.dumps({'user': self.username, 'password': self.password}).encode('utf-8')
        headers = {'Accept': 'application/json', 'Content-Type': 'application/json'}
        try:
            response = request(self.transport, 'POST', self.url_for('/login'), headers, body, timeout=self.timeout,
                               retries=0, sleep=self._sleep)
        except (BadRedirect, NoAnswer):
            return False
        jar = cookies_set(response.set_cookies) if response.status == 200 else {}
        with self._session_lock:
            self._session.clear()
            self._session.update(jar)
        return bool(jar)

    def end_session(self) -> None:
        """Log out (``GET /logout`` revokes the session's token, pkg/api/login.go Logout), so that no session of a
        run stays open in Grafana; its redirect is not followed. Best effort: a failure leaves the token to expire."""
        with self._session_lock:
            cookie = self._cookie_header()
            self._session.clear()
        if not cookie:
            return
        with contextlib.suppress(BadRedirect, NoAnswer):
            request(self.transport, 'GET', self.url_for('/logout'), {'Cookie': cookie}, None, timeout=self.timeout,
                    retries=0, sleep=self._sleep, follow=())

    def _cookie_header(self) -> str:
        return '; '.join(f'{name}={value}' for name, value in self._session.items())

    def _drop_session(self, cookie: str) -> bool:
        """Grafana refused the session ``cookie`` (a token revoked, expired or due for rotation): the requests
        that follow use basic authentication. Whether the session was still that one (else another thread has
        already dropped it)."""
        with self._session_lock:
            if cookie and self._cookie_header() == cookie:
                self._session.clear()
                return True
            return bool(cookie)

    # -- org selection -------------------------------------------------
    def resolve_org(self) -> Optional[int]:
        """Turn ``org_name`` into an id once; requests then carry it in the org header."""
        if self.org_id is None and self._org_name:
            with self._lock:
                if self.org_id is None:
                    self.org_id = self._org_id_by_name(self._org_name)
        return self.org_id

    def _org_id_by_name(self, name: str) -> int:
        _known, org_id = self.known_org(name)
        if org_id is not None:
            return org_id
        try:
            org = self.request('GET', f'/api/orgs/name/{quote_path(name)}', obj=f"organization '{name}'",
                               use_org=False)
        except GrafanaAPIError as exc:
            if exc.status == 404:
                raise OrgNotFoundError(exc.obj, exc.status, exc.message, exc.body) from None
            raise
        return int(org['id'])

    # -- which API family ------------------------------------------------
    def read_org_ids(self, obj: str = 'organizations') -> int:
        """Reads every organization's id by name in one request (``GET /api/orgs``, a server admin's list), so that
        organizations are not resolved by name one request each; how many it holds (none without a server admin,
        or on any error)."""
        try:
            orgs = self.request('GET', '/api/orgs', obj, query={'perpage': LIST_PAGE, 'page': 1}, use_org=False)
        except GrafanaAPIError:
            return 0
        if not isinstance(orgs, list):
            return 0
        with self._lock:
            for org in orgs:
                if isinstance(org, dict) and isinstance(org.get('name'), str) and 'id' in org:
                    self._org_ids[org['name']] = int(org['id'])
            self._complete['orgs'] = len(orgs) < LIST_PAGE
        return len(self._org_ids)

    def known_org(self, name: str) -> Tuple[bool, Optional[int]]:
        """What the organization list says of ``name``: (True, its id), (True, None) when it does not exist, or
        (False, None) when the list cannot tell (not read, or not the whole of it)."""
        with self._lock:
            if name in self._org_ids:
                return True, self._org_ids[name]
            return self._complete['orgs'], None

    def remember_org(self, name: str, org_id: Optional[int], made: bool = False) -> None:
        """An organization this client deleted (``org_id`` None) or knows the id of; ``made``: the client made it
        just now, so it holds nothing yet."""
        with self._lock:
            if org_id is None:
                self._orgs_made.pop(self._org_ids.pop(name, -1), None)
            else:
                self._org_ids[name] = int(org_id)
                if made:
                    self._orgs_made[int(org_id)] = set()

    def _made_org_objects(self) -> Optional[Set[str]]:
        """The labels of the objects made in the request org, when this client made that organization; else None.
        Asks nothing of Grafana."""
        org_id = self.org_id
        if org_id is None and self._org_name:
            org_id = self._org_ids.get(self._org_name)
        return self._orgs_made.get(org_id) if org_id is not None else None

    def absent_from_new_org(self, label: str) -> bool:
        """Whether the object ``label`` names cannot exist: the request org is one this client made, and the
        client has not made that object in it."""
        with self._lock:
            made = self._made_org_objects()
            return made is not None and label not in made

    def made_in_org(self, label: str) -> None:
        """An object this client made in the request org (read as usual from then on)."""
        with self._lock:
            made = self._made_org_objects()
            if made is not None:
                made.add(label)

    def server_major(self, obj: str = 'grafana health') -> Optional[int]:
        """Grafana's major version from ``GET /api/health`` (asked once); ``obj`` names what a failure is about."""
        with self._lock:
            if not self._major_known:
                health = self.request('GET', '/api/health', obj, use_org=False) or {}
                self._major = major_version(health.get('version') if isinstance(health, dict) else None)
                self._major_known = True
        return self._major

    def serves_app_apis(self, obj: str = 'grafana health') -> bool:
        """Whether dashboards and folders go through /apis (Grafana 13 and later)."""
        major = self.server_major(obj)
        return major is not None and major >= APPS_API_MAJOR

    def namespace(self) -> str:
        """The /apis namespace of the request org: ``org_id``/``org_name``, else the caller's current org."""
        with self._lock:
            if self._namespace is None:
                org_id = self.resolve_org()
                if org_id is None:
                    org_id = int(self.request('GET', '/api/org', 'current organization', use_org=False)['id'])
                self._namespace = org_namespace(org_id)
        return self._namespace

    def apis_path(self, group: str, resource: str, name: Optional[str] = None) -> str:
        """``/apis/<group>/v1/namespaces/<ns>/<resource>[/<name>]`` in the request org's namespace."""
        path = f'/apis/{group}/{APPS_API_VERSION}/namespaces/{self.namespace()}/{resource}'
        return path + (f'/{quote_path(name)}' if name is not None else '')

    # -- requests ------------------------------------------------------
    def _headers(self, org_id: Optional[int], disable_provenance: bool, has_body: bool) -> Dict[str, str]:
        headers = {'Accept': 'application/json'}
        if has_body:
            headers['Content-Type'] = 'application/json'
        with self._session_lock:
            cookie = self._cookie_header()
        if self.token:
            headers['Authorization'] = f'Bearer {self.token}'
        elif cookie:
            headers['Cookie'] = cookie
        elif self.username is not None:
            headers['Authorization'] = basic_auth(self.username, self.password)
        if org_id is not None:
            headers[ORG_HEADER] = str(org_id)
        if disable_provenance:
            headers[PROVENANCE_HEADER] = 'true'
        return headers

    def url_for(self, path: str, query: Optional[Dict[str, Any]] = None) -> str:
        url = self.base_url + path
        if query:
            pairs = [(k, v) for k, v in query.items() if v is not None]
            url += '?' + urlencode(pairs)
        return url

    def request(self, method: str, path: str, obj: str, body: Any = None,
                query: Optional[Dict[str, Any]] = None, use_org: bool = True,
                disable_provenance: bool = False,
                missing_ok: bool = False) -> Any:
        """Send one request and return its decoded JSON body.

        ``obj`` names what is being managed, for the error message. With
        ``missing_ok`` a 404 returns None instead of raising.
        """
        org_id = self.resolve_org() if use_org else None
        data = json.dumps(body).encode('utf-8') if body is not None else None
        headers = self._headers(org_id, disable_provenance, data is not None)
        url = self.url_for(path, query)
        with self._slots or contextlib.nullcontext():
            return self._send(method, url, obj, org_id, headers, data, disable_provenance, missing_ok)

    def _send(self, method: str, url: str, obj: str, org_id: Optional[int], headers: Dict[str, str],
              data: Optional[bytes], disable_provenance: bool, missing_ok: bool) -> Any:
        try:
            response = request(self.transport, method, url, headers, data, timeout=self.timeout,
                               retries=self.retries, sleep=self._sleep)
            if response.status == 401 and self._drop_session(headers.get('Cookie', '')):
                # The session ended under the run: the same request again, with basic authentication.
                headers = self._headers(org_id, disable_provenance, data is not None)
                response = request(self.transport, method, url, headers, data, timeout=self.timeout,
                                   retries=self.retries, sleep=self._sleep)
        except BadRedirect as exc:
            raise GrafanaAPIError(obj, exc.status, str(exc)) from None
        except NoAnswer as exc:
            reason = exc.describe()
            if reason.startswith('connection error: '):
                reason = reason[len('connection error: '):]
            raise GrafanaAPIError(obj, None, f'{reason} ({exc.url})', retryable=exc.retryable,
                                  unsent=exc.unsent) from None
        if not 200 <= response.status < 300:
            if response.status == 404 and missing_ok:
                return None
            raise GrafanaAPIError(obj, response.status, body_message(response.body, response.reason),
                                  decode_json(response.body))
        body = decode_json(response.body)
        if isinstance(body, str):
            # A proxy's HTML page or similar: Grafana's API always answers JSON.
            raise GrafanaAPIError(obj, response.status, f'answer is not JSON: {body[:120]}')
        return body

    # -- helpers ---------------------------------------------------------
    def get(self, path: str, obj: str, query: Optional[Dict[str, Any]] = None, **kwargs: Any) -> Any:
        """GET that returns None when the object does not exist."""
        return self.request('GET', path, obj, query=query, missing_ok=True, **kwargs)

    def read_user_list(self, obj: str = 'users') -> int:
        """Reads every user in one request (``GET /api/users``, a server admin's list), so that find_user and
        user_with_email answer from it without a request of their own; how many it holds. The list gives each
        user's id, login, name, email and server admin flag (``isAdmin``, the profile's ``isGrafanaAdmin``). A
        user this client makes afterwards is looked up once, then known. Without a server admin (or on any error)
        it holds nothing, and every lookup is a request."""
        try:
            hits = self.request('GET', '/api/users', obj, query={'perpage': LIST_PAGE, 'page': 1}, use_org=False)
        except GrafanaAPIError:
            return 0
        if not isinstance(hits, list):
            return 0
        with self._lock:
            for hit in hits:
                if isinstance(hit, dict) and isinstance(hit.get('login'), str) and 'id' in hit:
                    profile = {k: hit.get(k) for k in ('id', 'login', 'name', 'email') if k in hit}
                    profile['isGrafanaAdmin'] = bool(hit.get('isAdmin'))
                    profile['isDisabled'] = bool(hit.get('isDisabled'))
                    self._users[hit['login'].lower()] = profile
            self._complete['users'] = len(hits) < LIST_PAGE
        return len(self._users)

    def _listed_user(self, login: str, by_email: bool) -> Tuple[bool, Optional[Dict[str, Any]]]:
        """What the user list says of ``login``: (True, the user), (True, None) when no such user exists, or
        (False, None) when it cannot tell."""
        with self._lock:
            wanted = login.lower()
            if wanted in self._users:
                return True, dict(self._users[wanted])
            if not self._complete['users'] or wanted in self._users_made:
                return False, None
            if by_email:
                for user in self._users.values():
                    if same_login(user.get('email'), login):
                        return True, dict(user)
                if wanted in self._users_made.values():
                    return False, None
            return True, None

    def listed_login(self, login: Optional[str]) -> Optional[str]:
        """The login Grafana stores for ``login`` when the user list holds that user (else None); asks nothing."""
        if not isinstance(login, str):
            return None
        with self._lock:
            user = self._users.get(login.lower())
            return user.get('login') if user else None

    def user_made(self, login: str, email: Optional[str], created: Optional[Dict[str, Any]] = None,
                  name: str = '', is_admin: bool = False) -> None:
        """A user this client made. With ``created``, the answer of ``POST /api/admin/users`` (its ``id``) and a
        known server version, the client knows the user from here on, as Grafana stores it: since Grafana 11 the
        login and email in lower case (Service.Create, grafana/grafana#86359), the email the login when none was
        given (pkg/services/user/userimpl/user.go, Create), not disabled. Else the list does not hold it, and the next
        find_user looks it up (then knows it)."""
        with self._lock:
            stored_email = email or login
            major = self._major if self._major_known else None
            if isinstance(created, dict) and isinstance(created.get('id'), int) and major is not None:
                stored = (lambda text: text.lower()) if major >= 11 else (lambda text: text)
                self._users_made.pop(login.lower(), None)
                self._users[login.lower()] = {'id': created['id'], 'login': stored(login), 'name': name,
                                              'email': stored(stored_email), 'isGrafanaAdmin': bool(is_admin),
                                              'isDisabled': False}
                return
            self._users_made[login.lower()] = stored_email.lower()

    def user_deleted(self, login: str) -> None:
        """A user this client deleted."""
        with self._lock:
            self._users.pop(login.lower(), None)
            self._users_made.pop(login.lower(), None)

    def user_with_email(self, email: str, obj: str) -> Optional[Dict[str, Any]]:
        """The user whose email is ``email`` (compared as Grafana does), or None; from the user list when it holds
        every user, else by ``GET /api/users/lookup``."""
        with self._lock:
            if self._complete['users'] and email.lower() not in self._users_made.values():
                return next((dict(u) for u in self._users.values() if same_login(u.get('email'), email)), None)
        other = self.get('/api/users/lookup', obj, query={'loginOrEmail': email}, use_org=False)
        return other if other and same_login(other.get('email'), email) else None

    def find_user(self, login: str, obj: str, by_email: bool = False) -> Optional[Dict[str, Any]]:
        """The user whose login is ``login`` (its profile, ``GET /api/users/:id``), or None; needs a server admin.

        Grafana's ``GET /api/users/lookup?loginOrEmail=`` matches a login *or an email*, case-insensitively, and
        tries the email first when the text holds an '@': the user it returns is taken only when its login is
        ``login`` (compared as Grafana compares logins, see same_login). Else a user with that login is searched
        for (``GET /api/users/search``). With ``by_email``, the user whose email is ``login`` is taken when no user
        has it as login.
        """
        if isinstance(login, str):
            known, listed = self._listed_user(login, by_email)
            if known:
                return listed
        target = f"{obj} user '{login}'" if obj else f"user '{login}'"
        found = self.get('/api/users/lookup', target, query={'loginOrEmail': login}, use_org=False)
        if found is None or same_login(found.get('login'), login):
            if found is not None and isinstance(login, str):
                self._learn_user(login, found)
            return found
        search = self.request('GET', '/api/users/search', target, query={'query': login, 'perpage': 1000},
                              use_org=False) or {}
        for hit in search.get('users') or []:
            if same_login(hit.get('login'), login):
                return self.request('GET', f"/api/users/{hit['id']}", target, use_org=False)
        if by_email and same_login(found.get('email'), login):
            return found
        return None

    def _learn_user(self, login: str, profile: Dict[str, Any]) -> None:
        """A user this client made and has now looked up: the list knows it from here on."""
        with self._lock:
            if login.lower() in self._users_made:
                del self._users_made[login.lower()]
                keys = ('id', 'login', 'name', 'email', 'isGrafanaAdmin', 'isDisabled')
                self._users[login.lower()] = {k: profile.get(k) for k in keys}

    def user_by_login(self, login: str, obj: str, by_email: bool = True) -> Dict[str, Any]:
        """A user by login (see find_user), by default else by email; a missing user raises a 404."""
        user = self.find_user(login, obj, by_email=by_email)
        if user is None:
            raise GrafanaAPIError(f"{obj} user '{login}'" if obj else f"user '{login}'", 404, 'user not found'
                                  + ('' if by_email else ' (no user has this login)'))
        return user

    def team_by_name(self, name: str, obj: str) -> Dict[str, Any]:
        """A team of the request org by exact name: the id this client has seen for it (remember_team), else
        ``GET /api/teams/search``; a missing team raises 404."""
        org_id = self.resolve_org()
        with self._lock:
            if (org_id, name) in self._team_ids:
                return {'id': self._team_ids[(org_id, name)], 'name': name}
        search = self.request('GET', '/api/teams/search', f"{obj} team '{name}'", query={'name': name}) or {}
        for team in search.get('teams') or []:
            if team.get('name') == name:
                self.remember_team(name, team['id'])
                return team
        raise GrafanaAPIError(f"{obj} team '{name}'", 404, 'team not found in the organization')

    def search_hit(self, kind: str, uid: str, obj: str) -> Optional[Dict[str, Any]]:
        """The search hit (``uid``, ``title``, ``folderUid``) of the request org's folder (``dash-folder``) or
        dashboard (``dash-db``) ``uid`` when one search of the org's folders and dashboards (``GET /api/search``,
        read once per org and shared by the threads) lists it; else None, which says nothing: an object the list
        lacks (a page too short, a search index not yet up to date) is read by its uid."""
        org_id = self.resolve_org()
        with self._lock:
            entry = self._search_lists.get(org_id)
            if entry is None:
                entry = self._search_lists[org_id] = (threading.Lock(), {})
        lock, listed = entry
        with lock:
            if not listed:
                hits = self.request('GET', '/api/search', obj, query={'limit': SEARCH_PAGE, 'page': 1})
                listed.update(((hit.get('type'), hit['uid']), hit) for hit in hits or []
                              if isinstance(hit, dict) and hit.get('uid'))
                listed[('', '')] = {}  # read (a uid is never empty)
        return listed.get((kind, uid)) if uid else None

    def remember_team(self, name: str, team_id: Optional[int]) -> None:
        """The id of a team of the request org this client has read, made (``team_id``) or deleted (None)."""
        org_id = self.resolve_org()
        with self._lock:
            if team_id is None:
                self._team_ids.pop((org_id, name), None)
            else:
                self._team_ids[(org_id, name)] = int(team_id)


def same_login(one: Any, other: Any) -> bool:
    """Whether two logins (or emails) name the same Grafana user: Grafana compares them case-insensitively, and
    since Grafana 11 stores them in lower case (pkg/services/user/userimpl/store.go, GetByLogin and LoginConflict
    lower the text)."""
    return isinstance(one, str) and isinstance(other, str) and one.lower() == other.lower()
