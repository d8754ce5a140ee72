#!/usr/bin/python
# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

from __future__ import annotations

DOCUMENTATION = r'''
---
module: grafana_datasource
short_description: Manage Grafana data sources
version_added: 1.0.0
description:
  - Create, update and delete a data source in a Grafana organization through the HTTP API.
  - The data source is found by O(uid) when given, else by O(name).
  - Only the options you set are compared. Server-managed fields (C(id), C(version), C(orgId),
    C(readOnly), C(typeLogoUrl)) never are.
  - An update sends the stored version, so a concurrent change makes Grafana answer HTTP 409
    instead of being overwritten silently.
author:
  - data2ai training team (@data2ai)
extends_documentation_fragment:
  - data2ai.grafana_stack.grafana
  - data2ai.grafana_stack.grafana.org
  - data2ai.grafana_stack.grafana.attributes
options:
  state:
    description:
      - V(present) creates or updates the data source, V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
  name:
    description:
      - Name of the data source, unique in the organization.
    type: str
    required: true
  uid:
    description:
      - Fixed uid of the data source, so dashboards and other data sources can link to it.
      - At most 40 characters of C([a-zA-Z0-9_-]). Grafana 12 rejects anything else.
      - Without it Grafana generates one and the data source is found by O(name).
    type: str
  type:
    description:
      - Plugin id of the data source, for example V(prometheus), V(loki), V(tempo), V(influxdb) or
        V(alertmanager).
      - Required to create the data source.
    type: str
  access:
    description:
      - V(proxy) makes Grafana's backend query the data source; V(direct) makes the browser do it.
    type: str
    choices: [proxy, direct]
  data_source_url:
    description:
      - URL of the data source as Grafana's backend reaches it, for example V(http://prometheus:9090).
    type: str
    aliases: [ds_url]
  user:
    description:
      - Database user, for SQL and InfluxQL data sources.
    type: str
  database:
    description:
      - Database name, for SQL and InfluxQL data sources.
    type: str
  basic_auth:
    description:
      - Whether Grafana authenticates to the data source with HTTP basic auth.
      - Put the password into O(secure_json_data) as C(basicAuthPassword).
    type: bool
  basic_auth_user:
    description:
      - User for basic auth to the data source.
    type: str
  with_credentials:
    description:
      - Whether the browser sends cookies and credentials with cross-site requests.
    type: bool
  is_default:
    description:
      - Whether this is the default data source of the organization.
      - Grafana makes the first data source of an organization the default one, whatever you send;
        leave this unset to not compare it.
    type: bool
  json_data:
    description:
      - Plugin settings (C(jsonData)), for example C(httpMethod), C(derivedFields), C(tracesToLogsV2).
      - Compared as a whole, the stored C(jsonData) must equal this dictionary.
    type: dict
  secure_json_data:
    description:
      - Secret plugin settings (C(secureJsonData)), for example C(basicAuthPassword) or C(token).
      - Grafana never returns secrets, only which keys are set, so values cannot be compared.
        See O(secure_json_data_update).
    type: dict
  secure_json_data_update:
    description:
      - When to send O(secure_json_data).
      - V(on_create) sends it when the data source is created, or when one of its keys is not stored
        yet. A changed value of a stored key is B(not) detected. This keeps the module idempotent.
      - V(always) sends it on every run, which reports C(changed) every time. Use it once to rotate a secret.
    type: str
    choices: [always, on_create]
    default: on_create
'''

EXAMPLES = r'''
- name: Prometheus data source with a fixed uid
  data2ai.grafana_stack.grafana_datasource:
    url: http://127.0.0.1:3000
    url_username: admin
    url_password: "{{ grafana_admin_password }}"
    name: Prometheus
    uid: prometheus
    type: prometheus
    access: proxy
    data_source_url: http://prometheus:9090
    json_data:
      httpMethod: POST
      timeInterval: 15s

- name: InfluxDB (Flux) in a cohort organization, token sent only when created
  data2ai.grafana_stack.grafana_datasource:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    org_name: cohort-2025-01
    name: InfluxDB
    uid: influxdb
    type: influxdb
    data_source_url: http://influxdb:8086
    json_data:
      version: Flux
      organization: data2ai
      defaultBucket: training
    secure_json_data:
      token: "{{ influxdb_admin_token }}"
    secure_json_data_update: on_create

- name: Remove a data source
  data2ai.grafana_stack.grafana_datasource:
    url: http://127.0.0.1:3000
    url_password: "{{ grafana_admin_password }}"
    name: Old Prometheus
    state: absent
'''

RETURN = r'''
datasource:
  description:
    - The data source as the user manages it, after the run (in check mode, as it would be).
    - Secrets are never returned; RV(datasource.secure_json_fields) lists the keys that are set.
    - Empty after O(state=absent).
  returned: always
  type: dict
  sample:
    name: Prometheus
    uid: prometheus
    type: prometheus
    access: proxy
    data_source_url: http://prometheus:9090
    is_default: true
    json_data: {httpMethod: POST}
    secure_json_fields: []
  contains:
    uid:
      description: Uid of the data source.
      type: str
      returned: success
    secure_json_fields:
      description: Keys of the secrets that are stored (never their values).
      type: list
      elements: str
      returned: success
diff:
  description: Data source before and after, as the user manages it. Secret values are masked.
  returned: when diff mode is on
  type: dict
  contains:
    before:
      description: The stored data source, or empty when it did not exist.
      type: dict
    after:
      description: The data source after the run, or empty after O(state=absent).
      type: dict
'''

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_objects import (  # noqa: E402
    DATASOURCE_OPTIONS,
    Datasource,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_resource import run_resource  # noqa: E402


def main() -> None:
    run_resource(Datasource, DATASOURCE_OPTIONS)


if __name__ == '__main__':
    main()
