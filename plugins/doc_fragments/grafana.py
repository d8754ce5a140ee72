# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations


class ModuleDocFragment:
    """Shared documentation of the Grafana API modules."""

    # Connection options, one HTTP client for every module.
    DOCUMENTATION = r'''
options:
  url:
    description:
      - Base URL of the Grafana server, for example V(http://127.0.0.1:3000).
      - Falls back to the E(GRAFANA_URL) environment variable.
    type: str
    required: true
    aliases: [grafana_url]
  url_username:
    description:
      - Login for HTTP basic authentication. Used only when O(token) is not set.
      - Falls back to the E(GRAFANA_USER) environment variable.
      - Server-wide objects (organizations, users) need a Grafana server admin.
    type: str
    default: admin
    aliases: [grafana_user]
  url_password:
    description:
      - Password for HTTP basic authentication. Used only when O(token) is not set.
      - Falls back to the E(GRAFANA_PASSWORD) environment variable.
      - One of O(url_password) and O(token) is required.
    type: str
    aliases: [grafana_password]
  token:
    description:
      - A service account token (C(glsa_...)) sent as a bearer token. Takes precedence over basic authentication.
      - Grafana 11 removed API keys; create service accounts and tokens with
        M(data2ai.grafana_stack.grafana_service_account).
      - A token belongs to exactly one organization. Requests for another organization fail with HTTP 401.
      - Falls back to the E(GRAFANA_TOKEN) environment variable.
    type: str
    aliases: [grafana_api_key]
  validate_certs:
    description:
      - Whether to validate the server's TLS certificate.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file of CA certificates used to validate the server's certificate, instead of the system's CAs.
      - For a Grafana the grafana role serves over TLS with a self-signed certificate
        (C(grafana_tls=true)), the certificate the role keeps on the controller (C(grafana_tls_ca_path)).
      - Prefer it to O(validate_certs=false), which accepts any certificate.
    type: path
  client_cert:
    description:
      - PEM client certificate for mutual TLS.
    type: path
  client_key:
    description:
      - PEM private key of O(client_cert), when it is not in the certificate file.
    type: path
  timeout:
    description:
      - Seconds to wait for each HTTP response.
    type: int
    default: 30
  retries:
    description:
      - How often a request is retried after a connection error or an HTTP 5xx answer,
        with exponential backoff (0.5 s, 1 s, 2 s, ... at most 8 s). At most 10.
      - Only idempotent requests (C(GET), C(HEAD), C(PUT), C(DELETE), C(OPTIONS)) are retried after a
        timeout, a dropped connection or an HTTP 5xx. A C(POST) or C(PATCH) (creating an object or a
        token) is sent again only when the connection was refused, so that it never reaches Grafana twice.
      - Client errors (HTTP 4xx) and refused certificates are never retried.
    type: int
    default: 3
  use_proxy:
    description:
      - Whether to use a proxy from the environment (E(https_proxy), E(no_proxy)).
    type: bool
    default: true
notes:
  - Redirects are followed for C(GET) and C(HEAD) only. The credentials (basic authentication or O(token))
    are not sent on to another host, nor after a change of scheme or port (except http to https on the
    default ports), as in the Python C(requests) library.
  - The requests of one task go over kept-alive connections (one per thread), not a new connection each.
  - "Every API error fails the task with one line, C(<object>: HTTP <status> <Grafana message>),
    whatever the shape of the error body (JSON, HTML or empty)."

'''

    # Org selection for objects that live in an organization.
    ORG = r'''
options:
  org_id:
    description:
      - Id of the organization the object lives in, sent per request in the C(X-Grafana-Org-Id) header.
      - The module never switches the user's active organization (C(/api/user/using)), so runs against
        different organizations can go in parallel.
      - Without O(org_id) and O(org_name), the user's current organization (for a token, its own) is used.
      - Mutually exclusive with O(org_name).
    type: int
  org_name:
    description:
      - Name of the organization the object lives in; resolved to its id with C(GET /api/orgs/name/<name>),
        which needs a Grafana server admin.
      - Mutually exclusive with O(org_id).
    type: str
'''

    # Check mode, diff mode and idempotence, declared by every module.
    ATTRIBUTES = r'''
attributes:
  check_mode:
    support: full
    description: Can run in check_mode and return changed status prediction without modifying target.
  diff_mode:
    support: full
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
  idempotent:
    support: full
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
      - Server-managed fields (ids, versions, timestamps, metadata) are never compared. Secrets are compared only
        as the set of stored keys, see the module's secret options.
'''
