# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The collection's one HTTP layer: every module that speaks HTTP goes through it.

Users: ``grafana_api.GrafanaClient`` (the Grafana modules), ``health`` (``service_health``), the flow checks
``flow_*`` (``stack_flow_check``, Grafana included) and ``docker_engine`` (the Docker API on its Unix socket).

What it owns:

- **Connections and keep-alive.** :class:`HttpTransport` keeps the ``http.client`` connections it opened to each
  origin, idle between requests, and sends the next request to that origin, from whichever thread, over an idle
  one: a run opens as many connections as it has requests in flight at once. A connection the server closed while
  idle is noticed before it is used again, and replaced. One transport may be shared by many threads
  (``concurrent.futures``); :meth:`HttpTransport.close` closes every connection.
- **TLS.** ``validate_certs``, ``ca_path`` (only that CA file is trusted instead of the system's CAs),
  ``server_name`` (the name the certificate must carry when the URL names an address) and a client certificate.
  Contexts are built once per setting and shared (building one loads the CA bundle and holds the GIL).
- **Proxies.** With ``use_proxy`` the ``http_proxy``/``https_proxy``/``no_proxy`` environment is honoured as by
  urllib (an HTTPS origin is reached through a ``CONNECT`` tunnel).
- **Redirects** (:func:`request`): followed for GET and HEAD only; the credentials (``Authorization``, ``Cookie``) are
  dropped when a redirect leaves the origin, by the rule of ``requests``
  (``SessionRedirectMixin.should_strip_auth``, see :func:`should_strip_auth`).
- **Retries** (:func:`request`, :func:`may_retry`): only an idempotent request (RFC 9110 section 9.2.2: GET,
  HEAD, PUT, DELETE, OPTIONS) is sent again after a timeout, a dropped connection or an HTTP 5xx, because the
  server may have acted on it already. Any method is sent again when the connection was refused (no byte of it
  reached the server). A refused certificate is never retried.
- **Error text and redaction.** :func:`one_line`, :func:`snippet`, :func:`body_message` (the server's message from
  an error body), :func:`describe_no_answer` and :func:`redact` with the collection's one mask, :data:`MASK`.

The transport interface (what :class:`HttpTransport` implements and a test double implements too, see
``tests/unit/fake_transport.py``): ``send(method, url, headers=None, body=None, timeout=None, max_body=None)``
makes one exchange, without redirects or retries, and returns a :class:`Response` (an HTTP error status is an
answer, not an exception) or raises :class:`NoAnswer`; ``close()``. :func:`request` adds redirects and retries on
top of any such object.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import select
import socket
import ssl
import threading
import time
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple
from urllib.error import URLError
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit
from urllib.request import getproxies, proxy_bypass

from ansible.module_utils.urls import make_context

#: the one mask that stands for a secret in output, diffs and reports
MASK = '********'
USER_AGENT = 'data2ai.grafana_stack'
#: methods a server may receive twice with the effect of once (RFC 9110 section 9.2.2)
IDEMPOTENT_METHODS = frozenset(('GET', 'HEAD', 'PUT', 'DELETE', 'OPTIONS'))
#: methods whose redirects are followed (the others report the 3xx)
REDIRECT_METHODS = frozenset(('GET', 'HEAD'))
REDIRECT_STATUSES = frozenset((301, 302, 303, 307, 308))
#: as urllib's HTTPRedirectHandler.max_redirections
MAX_REDIRECTS = 10
MAX_RETRIES = 10
DEFAULT_PORTS = {'http': 80, 'https': 443}
CREDENTIAL_HEADERS = ('Authorization', 'Cookie')

_WHITESPACE = re.compile(r'\s+')
_TLS_CONTEXTS: Dict[Tuple[Any, ...], ssl.SSLContext] = {}
_TLS_CONTEXTS_LOCK = threading.Lock()
#: what the first use of a kept connection raises when the server had closed it meanwhile
_STALE_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, ConnectionAbortedError)
#: everything one exchange raises when no HTTP answer arrives; ssl and socket errors are OSErrors
_NO_ANSWER_ERRORS = (OSError, http.client.HTTPException, ValueError)


# --------------------------------------------------------------------------
# Error text and redaction
# --------------------------------------------------------------------------


def one_line(text: Any, limit: Optional[int] = None) -> str:
    """Whitespace folded to single spaces; with ``limit``, cut to that many characters ending in '...'."""
    text = _WHITESPACE.sub(' ', str(text if text is not None else '')).strip()
    if limit is not None and len(text) > limit:
        return text[:limit - 3] + '...'
    return text


def redact(text: str, secrets: Iterable[str]) -> str:
    """Every secret in ``text`` replaced by :data:`MASK`, the longest first (a secret holding another goes whole)."""
    for secret in sorted(set(secrets), key=len, reverse=True):
        if secret:
            text = text.replace(secret, MASK)
    return text


def snippet(text: str, limit: int, secrets: Iterable[str] = ()) -> str:
    """A body or log line as quoted in a message: secrets masked, one line, at most ``limit`` characters."""
    return one_line(redact(text or '', secrets), limit)


def decode_text(raw: bytes, charset: Optional[str] = None) -> str:
    """Bytes of a body as text, in its charset (UTF-8 when none or unknown); undecodable bytes replaced."""
    try:
        return (raw or b'').decode(charset or 'utf-8', errors='replace')
    except LookupError:  # a charset Python does not know
        return (raw or b'').decode('utf-8', errors='replace')


def decode_json(raw: Any) -> Any:
    """A body decoded as JSON; an empty body is None, a body that is not JSON its text."""
    text = raw if isinstance(raw, str) else decode_text(raw)
    text = text.strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def body_message(raw: Any, reason: str = '') -> str:
    """The server's message in an error body, whatever its shape: a JSON object's ``message``, ``msg``,
    ``error`` or ``title``, else the text unless it is an HTML page, else ``reason``."""
    body = decode_json(raw)
    if isinstance(body, dict):
        for key in ('message', 'msg', 'error', 'title'):
            if body.get(key):
                return str(body[key])
    if isinstance(body, str) and not body.startswith('<'):
        return body
    if body is not None and not isinstance(body, (dict, str)):
        return json.dumps(body)
    return reason or 'no message'


def cookies_set(set_cookies: Iterable[str]) -> Dict[str, str]:
    """The cookies Set-Cookie headers give a client (name: value), as a browser keeps them: a cookie set empty or
    already expired (``Max-Age`` 0 or less) is cleared, not kept."""
    jar: Dict[str, str] = {}
    for header in set_cookies:
        pair, _sep, attributes = str(header).partition(';')
        name, sep, value = pair.partition('=')
        name, value = name.strip(), value.strip().strip('"')
        if not sep or not name:
            continue
        expired = any(attr.strip().lower().startswith('max-age=') and attr.strip()[8:].strip().lstrip('-').isdigit()
                      and int(attr.strip()[8:].strip()) <= 0 for attr in attributes.split(';'))
        if value and not expired:
            jar[name] = value
        else:
            jar.pop(name, None)
    return jar


def strip_userinfo(url: str) -> str:
    """The URL without its user:password part, safe to print."""
    parts = urlsplit(url)
    if '@' not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit('@', 1)[1]))


def basic_auth(username: str, password: Optional[str]) -> str:
    """The value of an ``Authorization`` header for HTTP basic authentication."""
    pair = '{}:{}'.format(username, password or '').encode('utf-8')
    return 'Basic ' + base64.b64encode(pair).decode('ascii')


def format_seconds(seconds: float) -> str:
    """60.0 -> "60", 0.5 -> "0.5": how a person would write it."""
    return f'{seconds:g}'


def describe_no_answer(exc: BaseException, timeout: Optional[float] = None) -> str:
    """A short, stable description of why no HTTP answer arrived."""
    reason: Any = exc.reason if isinstance(exc, (NoAnswer, URLError)) else exc
    if isinstance(reason, URLError):
        reason = reason.reason
    if isinstance(reason, str):
        return f'connection error: {one_line(reason)}'
    if isinstance(reason, ConnectionRefusedError):
        return 'connection refused'
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return f'timed out after {format_seconds(timeout)}s' if timeout else 'timed out'
    if isinstance(reason, socket.gaierror):
        return f'cannot resolve host: {reason.strerror or reason}'
    if isinstance(reason, (http.client.RemoteDisconnected, ConnectionResetError)):
        return 'connection closed by the server without an answer'
    if isinstance(reason, ssl.SSLError) or type(reason).__name__ == 'SSLValidationError':
        return f'TLS error: {one_line(reason)}'
    if isinstance(reason, OSError) and reason.strerror:
        return f'connection error: {reason.strerror.lower()}'
    if isinstance(reason, OSError):
        return f'connection error: {one_line(reason)}'
    return f'{type(reason).__name__}: {one_line(reason)}'


# --------------------------------------------------------------------------
# Answers and failures
# --------------------------------------------------------------------------


class Response:
    """One HTTP answer: status, headers (looked up case-insensitively with :meth:`header`) and body bytes."""

    def __init__(self, status: int, body: bytes = b'', headers: Optional[Mapping[str, str]] = None,
                 reason: str = '', url: str = '', set_cookies: Optional[Iterable[str]] = None) -> None:
        self.status = int(status)
        self.body = body or b''
        self.headers = {str(k).lower(): str(v) for k, v in (headers or {}).items()}
        # Every Set-Cookie header (a mapping of headers keeps one of each name).
        self.set_cookies = list(set_cookies) if set_cookies is not None else (
            [self.headers['set-cookie']] if 'set-cookie' in self.headers else [])
        self.reason = reason or http.client.responses.get(self.status, '')
        self.url = url

    def header(self, name: str, default: Optional[str] = None) -> Optional[str]:
        return self.headers.get(name.lower(), default)

    @property
    def charset(self) -> Optional[str]:
        match = re.search(r'charset="?([^";\s]+)', self.header('Content-Type') or '', re.IGNORECASE)
        return match.group(1) if match else None

    def text(self) -> str:
        return decode_text(self.body, self.charset)

    @property
    def retryable(self) -> bool:
        """A 5xx may pass; see :func:`may_retry`."""
        return self.status >= 500

    #: an answer always reached the server
    unsent = False


class TransportError(Exception):
    """The exchange ended without an answer to report as such."""


class NoAnswer(TransportError):
    """No HTTP answer arrived: ``reason`` is the exception that says why."""

    def __init__(self, url: str, reason: BaseException, timeout: Optional[float] = None) -> None:
        self.url = strip_userinfo(url)
        self.reason = reason
        self.timeout = timeout
        #: True only when the request certainly never reached the server (connection refused)
        self.unsent = isinstance(reason, ConnectionRefusedError)
        #: a refused certificate will be refused again
        self.tls_refused = isinstance(reason, ssl.SSLCertVerificationError)
        self.retryable = not self.tls_refused
        super().__init__(self.describe())

    def describe(self, timeout: Optional[float] = None) -> str:
        return describe_no_answer(self.reason, timeout if timeout is not None else self.timeout)


class BadRedirect(TransportError):
    """A redirect of a GET or HEAD to a URL that is not HTTP; ``response`` is the 3xx answer."""

    def __init__(self, response: Response, location: str) -> None:
        self.response = response
        self.status = response.status
        self.location = location
        super().__init__(f'redirect to a non-HTTP URL ({location})')


# --------------------------------------------------------------------------
# Redirect and retry policy
# --------------------------------------------------------------------------


def should_strip_auth(old_url: str, new_url: str) -> bool:
    """Whether a redirect from ``old_url`` to ``new_url`` must not carry the credentials.

    The rule of ``requests`` (``SessionRedirectMixin.should_strip_auth``): strip on another host name;
    keep on http->https with the default ports; keep when only a default port is spelled out or left
    out; strip on any other change of scheme or port.
    """
    old, new = urlsplit(old_url), urlsplit(new_url)
    if old.hostname != new.hostname:
        return True
    if old.scheme == 'http' and old.port in (80, None) and new.scheme == 'https' and new.port in (443, None):
        return False
    changed_port = old.port != new.port
    changed_scheme = old.scheme != new.scheme
    default_port = (DEFAULT_PORTS.get(old.scheme), None)
    if not changed_scheme and old.port in default_port and new.port in default_port:
        return False
    return changed_port or changed_scheme


def may_retry(method: str, failure: Any) -> bool:
    """Whether a failed request may be sent again.

    ``failure`` is anything with ``retryable`` and ``unsent`` (a :class:`Response`, :class:`NoAnswer`,
    ``grafana_api.GrafanaAPIError``): idempotent methods when it may pass, others only when they never left.
    """
    if not failure.retryable:
        return False
    return method.upper() in IDEMPOTENT_METHODS or bool(failure.unsent)


def backoff(attempt: int) -> float:
    """Seconds to wait before retry number ``attempt`` (1, 2, ...): 0.5, 1, 2, 4, 8, 8, ..."""
    return min(0.5 * (2 ** (attempt - 1)), 8.0)


def request(transport: Any, method: str, url: str, headers: Optional[Mapping[str, str]] = None,
            body: Optional[bytes] = None, timeout: Optional[float] = None, max_body: Optional[int] = None,
            retries: int = 0, sleep: Callable[[float], None] = time.sleep,
            follow: Iterable[str] = REDIRECT_METHODS) -> Response:
    """Send a request over ``transport``, following redirects and retrying as the policy above says.

    Returns the last answer (an error status included); raises :class:`NoAnswer` when none came after the
    allowed retries, or :class:`BadRedirect`.
    """
    retries = max(0, min(int(retries or 0), MAX_RETRIES))
    attempt = 0
    while True:
        try:
            response = follow_redirects(transport, method, url, headers, body, timeout, max_body, follow)
        except NoAnswer as exc:
            if attempt >= retries or not may_retry(method, exc):
                raise
        else:
            if attempt >= retries or not may_retry(method, response):
                return response
        attempt += 1
        sleep(backoff(attempt))


def follow_redirects(transport: Any, method: str, url: str, headers: Optional[Mapping[str, str]],
                     body: Optional[bytes], timeout: Optional[float] = None, max_body: Optional[int] = None,
                     follow: Iterable[str] = REDIRECT_METHODS) -> Response:
    """One request and the redirects of a GET or HEAD; credentials go only where :func:`should_strip_auth` lets."""
    headers = dict(headers or {})
    followed = method.upper() in frozenset(m.upper() for m in follow)
    redirects = 0
    while True:
        response = transport.send(method, url, headers=headers, body=body, timeout=timeout, max_body=max_body)
        location = response.header('Location')
        if not (followed and location and response.status in REDIRECT_STATUSES and redirects < MAX_REDIRECTS):
            return response
        redirects += 1
        new_url = urljoin(url, location.replace(' ', '%20'))
        if urlsplit(new_url).scheme not in ('http', 'https'):
            raise BadRedirect(response, new_url)
        if should_strip_auth(url, new_url):
            credentials = {name.lower() for name in CREDENTIAL_HEADERS}
            headers = {name: value for name, value in headers.items() if name.lower() not in credentials}
        url = new_url


# --------------------------------------------------------------------------
# The transport
# --------------------------------------------------------------------------


def tls_context(validate_certs: bool = True, ca_path: Optional[str] = None, server_name: Optional[str] = None,
                client_cert: Optional[str] = None, client_key: Optional[str] = None) -> ssl.SSLContext:
    """One TLS context per setting, built once and shared by all threads.

    With ``ca_path`` only that file is trusted; with ``server_name`` the certificate must carry that name,
    whatever address the connection goes to.
    """
    key = (bool(validate_certs), ca_path, server_name if validate_certs else None, client_cert, client_key)
    with _TLS_CONTEXTS_LOCK:
        if key not in _TLS_CONTEXTS:
            context = make_context(cafile=ca_path, validate_certs=validate_certs,
                                   client_cert=client_cert, client_key=client_key)
            if validate_certs and server_name:
                named = _NamedContext(ssl.PROTOCOL_TLS_CLIENT)
                named.server_name = server_name
                if ca_path:
                    named.load_verify_locations(cafile=ca_path)
                else:
                    named.load_default_certs()
                if client_cert:
                    named.load_cert_chain(client_cert, keyfile=client_key)
                context = named
            _TLS_CONTEXTS[key] = context
        return _TLS_CONTEXTS[key]


class _NamedContext(ssl.SSLContext):
    """Checks the certificate against a fixed name (``server_name``) instead of the host the URL names."""

    server_name = ''

    def wrap_socket(self, sock, *args, **kwargs):  # type: ignore[no-untyped-def]
        kwargs['server_hostname'] = self.server_name
        return super().wrap_socket(sock, *args, **kwargs)


class _UnixConnection(http.client.HTTPConnection):
    """HTTP over a Unix socket (the Docker engine's API)."""

    def __init__(self, socket_path: str, timeout: Optional[float]) -> None:
        super().__init__('localhost', timeout=timeout)
        self._socket_path = socket_path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._socket_path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


def _dropped(conn: http.client.HTTPConnection) -> bool:
    """Whether a kept connection was closed by the server meanwhile (its socket reads EOF or stray bytes)."""
    sock = conn.sock
    if sock is None:
        return False
    try:
        readable, _writable, _errored = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


class HttpTransport:
    """Keep-alive HTTP(S) connections to each origin, shared by threads: a request takes an idle connection (or
    opens one) and gives it back when its answer has been read, so a run opens as many connections as it has
    requests in flight at once, whichever threads send them."""

    def __init__(self, timeout: float = 30.0, validate_certs: bool = True, ca_path: Optional[str] = None,
                 server_name: Optional[str] = None, client_cert: Optional[str] = None,
                 client_key: Optional[str] = None, use_proxy: bool = True, unix_socket: Optional[str] = None,
                 user_agent: str = USER_AGENT) -> None:
        self.timeout = timeout
        self.validate_certs = validate_certs
        self.ca_path = ca_path or None
        self.server_name = server_name or None
        self.client_cert = client_cert or None
        self.client_key = client_key or None
        self.use_proxy = use_proxy
        self.unix_socket = unix_socket
        self.user_agent = user_agent
        self._idle: Dict[Tuple[Any, ...], List[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()
        self._every: List[http.client.HTTPConnection] = []
        #: connections opened (not reused) so far, over all threads
        self.connections_opened = 0

    # -- connections -------------------------------------------------------
    def _proxy(self, scheme: str, host: str) -> Optional[Any]:
        if not self.use_proxy or self.unix_socket:
            return None
        proxy = getproxies().get(scheme)
        if not proxy or proxy_bypass(host):
            return None
        return urlsplit(proxy if '://' in proxy else 'http://' + proxy)

    def _new_connection(self, scheme: str, host: str, port: int, proxy: Any,
                        timeout: Optional[float]) -> http.client.HTTPConnection:
        if self.unix_socket:
            return _UnixConnection(self.unix_socket, timeout)
        proxy_headers = {}
        if proxy is not None and proxy.username:
            proxy_headers['Proxy-Authorization'] = basic_auth(unquote(proxy.username), unquote(proxy.password or ''))
        if scheme == 'https':
            context = tls_context(self.validate_certs, self.ca_path, self.server_name, self.client_cert,
                                  self.client_key)
            if proxy is not None:
                conn = http.client.HTTPSConnection(proxy.hostname, proxy.port or 80, timeout=timeout, context=context)
                conn.set_tunnel(host, port, headers=proxy_headers)
                return conn
            return http.client.HTTPSConnection(host, port, timeout=timeout, context=context)
        if proxy is not None:
            return http.client.HTTPConnection(proxy.hostname, proxy.port or 80, timeout=timeout)
        return http.client.HTTPConnection(host, port, timeout=timeout)

    def _checkout(self, key: Tuple[Any, ...], scheme: str, host: str, port: int, proxy: Any,
                  timeout: Optional[float]) -> http.client.HTTPConnection:
        conn = None
        while conn is None:
            with self._lock:
                idle = self._idle.get(key)
                conn = idle.pop() if idle else None
            if conn is None:
                conn = self._new_connection(scheme, host, port, proxy, timeout)
                with self._lock:
                    self._every.append(conn)
            elif _dropped(conn):
                self._discard(conn)
                conn = None
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def _give_back(self, key: Tuple[Any, ...], conn: http.client.HTTPConnection) -> None:
        with self._lock:
            self._idle.setdefault(key, []).append(conn)

    def _discard(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        with self._lock:
            self._every = [kept for kept in self._every if kept is not conn]

    def close(self) -> None:
        """Close every kept connection."""
        with self._lock:
            every, self._every = self._every, []
            self._idle = {}
        for conn in every:
            conn.close()

    # -- one exchange ------------------------------------------------------
    def send(self, method: str, url: str, headers: Optional[Mapping[str, str]] = None, body: Optional[bytes] = None,
             timeout: Optional[float] = None, max_body: Optional[int] = None) -> Response:
        """One request and its answer, over an idle kept connection to the origin when there is one.

        An error status is an answer. Credentials in the URL (``user:password@``) become basic authentication.
        With ``max_body`` only that many bytes of the body are read (the connection is then not kept).
        """
        timeout = self.timeout if timeout is None else timeout
        try:
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            if scheme not in DEFAULT_PORTS:
                raise ValueError(f'unsupported URL scheme {parts.scheme!r}')
            host = parts.hostname or ''
            port = parts.port or DEFAULT_PORTS[scheme]
            if not host and not self.unix_socket:
                raise ValueError('URL has no host')
        except ValueError as exc:
            raise NoAnswer(url, exc, timeout) from None
        all_headers = {'User-Agent': self.user_agent}
        all_headers.update(headers or {})
        if parts.username is not None and not any(name.lower() == 'authorization' for name in all_headers):
            all_headers['Authorization'] = basic_auth(unquote(parts.username), unquote(parts.password or ''))
        target = urlunsplit(('', '', parts.path or '/', parts.query, ''))
        proxy = self._proxy(scheme, host)
        if proxy is not None and scheme == 'http':
            target = urlunsplit((scheme, parts.netloc.rsplit('@', 1)[-1], parts.path or '/', parts.query, ''))
        key = (scheme, host, port)
        for attempt in (1, 2):
            reused = False
            conn = None
            try:
                conn = self._checkout(key, scheme, host, port, proxy, timeout)
                reused = conn.sock is not None
                if not reused:
                    with self._lock:
                        self.connections_opened += 1
                conn.request(method, target, body=body, headers=all_headers)
                answer = conn.getresponse()
                data = answer.read(max_body) if max_body is not None else answer.read()
            except _STALE_ERRORS as exc:
                if conn is not None:
                    self._discard(conn)
                # The server closed a kept connection as the request went out: a second connection is tried once
                # for a request that may be sent twice.
                if attempt == 1 and reused and method.upper() in IDEMPOTENT_METHODS:
                    continue
                raise NoAnswer(url, exc, timeout) from None
            except _NO_ANSWER_ERRORS as exc:
                if conn is not None:
                    self._discard(conn)
                raise NoAnswer(url, exc, timeout) from None
            if answer.will_close or not answer.isclosed():
                self._discard(conn)
            else:
                self._give_back(key, conn)
            return Response(answer.status, data, dict(answer.getheaders()), answer.reason, url,
                            set_cookies=answer.msg.get_all('Set-Cookie') or [])
        raise AssertionError('unreachable')  # pragma: no cover
