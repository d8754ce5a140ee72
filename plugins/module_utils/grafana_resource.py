# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The resource pattern every Grafana module follows.

read -> project onto what the user owns -> merge the wanted options -> compare
-> write only on difference (never in check mode) -> report diff before/after.

A module subclasses :class:`GrafanaResource` and only describes how to read,
project, create, update and delete its object.
"""

from __future__ import annotations

import copy
import re
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, Iterable, Optional, Sequence, Tuple

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_text
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_api import (
    ORG_MUTUALLY_EXCLUSIVE,
    GrafanaAPIError,
    GrafanaClient,
    OrgNotFoundError,
    grafana_argument_spec,
    org_argument_spec,
)
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.http_transport import MASK  # noqa: F401  # pylint: disable=unused-import

SECRET_UPDATE_CHOICES = ['always', 'on_create']

_DURATION = re.compile(r'(\d+)(ms|s|m|h|d|w|y)')
_DURATION_SECONDS = {'ms': 0.001, 's': 1, 'm': 60, 'h': 3600, 'd': 86400, 'w': 604800, 'y': 31536000}


def strip(obj: Optional[Dict[str, Any]], keys: Iterable[str]) -> Dict[str, Any]:
    """A copy of ``obj`` without the given top-level keys (fields Grafana manages itself)."""
    drop = frozenset(keys)
    return {k: copy.deepcopy(v) for k, v in (obj or {}).items() if k not in drop}


def prune(value: Any) -> Any:
    """Drop None, empty lists and empty dicts, recursively.

    Grafana omits empty fields in responses (``omitempty``); pruning both sides
    keeps ``routes: []`` and a missing ``routes`` equal.
    """
    if isinstance(value, dict):
        pruned = {k: prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [prune(v) for v in value]
    return value


def merge(before: Dict[str, Any], wanted: Dict[str, Any]) -> Dict[str, Any]:
    """``before`` with the user's wanted values on top (top-level keys replace whole values)."""
    after = copy.deepcopy(before)
    after.update(copy.deepcopy(wanted))
    return after


def drop_none(obj: Dict[str, Any]) -> Dict[str, Any]:
    return {k: v for k, v in obj.items() if v is not None}


def duration_seconds(value: Any) -> Any:
    """``"1m30s"`` or ``90`` -> 90; anything unparsable is returned unchanged."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return int(value)
    text = to_text(value).strip()
    if text.isdigit():
        return int(text)
    parts = _DURATION.findall(text)
    if not parts or ''.join(n + u for n, u in parts) != text:
        return value
    total = sum(int(n) * _DURATION_SECONDS[u] for n, u in parts)
    return int(total) if total == int(total) else total


class GrafanaResource:
    """Base class: subclasses describe one kind of Grafana object."""

    #: what the object is called in messages and in the result ('datasource')
    kind = 'object'
    #: whether the object lives in an organization, which holds none of it when just made: in an organization
    #: the same client made, such an object is not read before it is made (see GrafanaClient.absent_from_new_org)
    org_content = False

    def __init__(self, module: AnsibleModule, client: GrafanaClient) -> None:
        self.module = module
        self.client = client
        self.params = module.params
        self.check_mode = module.check_mode
        # Whether a present run reads the object again for its result (its id, what Grafana stored); a batch of
        # many objects (grafana_batch.py) returns what it wanted instead, and saves those requests.
        self.reread = getattr(module, 'reread_results', True)

    # -- to implement --------------------------------------------------------
    @property
    def label(self) -> str:
        """How the object is named in error messages: ``datasource 'prom'``."""
        return self.kind

    def read(self) -> Optional[Dict[str, Any]]:
        raise NotImplementedError

    def owned(self, current: Dict[str, Any]) -> Dict[str, Any]:
        """The part of ``current`` the user manages, in the shape of :meth:`wanted`."""
        raise NotImplementedError

    def wanted(self, current: Optional[Dict[str, Any]]) -> Dict[str, Any]:
        """The options the user set, in the shape of :meth:`owned`; unset options are absent."""
        raise NotImplementedError

    def create(self, after: Dict[str, Any]) -> None:
        raise NotImplementedError

    def update(self, current: Dict[str, Any], before: Dict[str, Any], after: Dict[str, Any]) -> None:
        raise NotImplementedError

    def delete(self, current: Dict[str, Any]) -> None:
        raise NotImplementedError

    # -- hooks with defaults -------------------------------------------------
    def differs(self, before: Dict[str, Any], after: Dict[str, Any]) -> bool:
        return before != after

    def present_result(self, after: Dict[str, Any]) -> Dict[str, Any]:
        """The object returned to the user after a present run."""
        return after

    def extra_result(self) -> Dict[str, Any]:
        return {}

    def each(self, call: Callable[..., Any], items: Sequence[Tuple[Any, ...]]) -> None:
        """``call(*item)`` for each item, as many at a time as the module allows (a batch's objects: its
        concurrency; a single-object module, whose refusal ends the module: one at a time). The first refusal, in
        the items' order, is raised once all have been tried."""
        workers = min(int(getattr(self.module, 'concurrency', 1) or 1), len(items))
        if workers <= 1:
            for item in items:
                call(*item)
            return
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(call, *item) for item in items]
        for future in futures:
            future.result()

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.client.request(method, path, self.label, **kwargs)

    def api_get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, self.label, **kwargs)

    def serves_app_apis(self) -> bool:
        """Whether the server manages dashboards and folders through /apis; a failure names this object."""
        return self.client.serves_app_apis(self.label)

    # -- the pattern -------------------------------------------------------
    def run(self) -> Dict[str, Any]:
        try:
            current = None if self.org_content and self.client.absent_from_new_org(self.label) else self.read()
        except OrgNotFoundError as exc:
            # In check mode the org may be created by an earlier task of the same play: nothing is in it yet.
            if not self.check_mode:
                raise
            self.module.warn(f'{exc.one_line()}; check mode assumes it will be created and is empty')
            current = None
        if self.params.get('state') == 'absent':
            before = self.owned(current) if current is not None else {}
            after: Dict[str, Any] = {}
            changed = current is not None
            if changed and not self.check_mode:
                self.delete(current)
            value: Dict[str, Any] = {}
        else:
            before = self.owned(current) if current is not None else {}
            after = merge(before, self.wanted(current))
            changed = current is None or self.differs(before, after)
            if changed and not self.check_mode:
                if current is None:
                    self.create(after)
                    if self.org_content:
                        self.client.made_in_org(self.label)
                else:
                    self.update(current, before, after)
            value = self.present_result(after)
        result: Dict[str, Any] = {'changed': changed, self.kind: value}
        result.update(self.extra_result())
        if self.module._diff:
            before, after = self.diff_views(before, after)
            result['diff'] = {'before': before, 'after': after}
        return result

    def diff_views(self, before: Dict[str, Any], after: Dict[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
        """Hook to show secrets being sent (masked) in the diff; views hold none by default."""
        return before, after


def secret_keys_changed(wanted_keys: Iterable[str], stored_keys: Iterable[str], mode: str) -> bool:
    """Whether secrets must be sent: Grafana never returns them, so only their keys compare.

    ``always`` re-sends them (and reports changed) on every run; ``on_create``
    sends them when the object is created or when a key was never stored.
    """
    wanted = set(wanted_keys)
    if not wanted:
        return False
    if mode == 'always':
        return True
    return not wanted.issubset(set(stored_keys))


def run_resource(resource_cls: type, argument_spec: Dict[str, Any], org_scoped: bool = True,
                 **module_kwargs: Any) -> None:
    """Build the module, run the resource and exit; every API error becomes one line."""
    spec = grafana_argument_spec()
    mutually_exclusive = list(module_kwargs.pop('mutually_exclusive', []))
    if org_scoped:
        spec.update(org_argument_spec())
        mutually_exclusive.extend(ORG_MUTUALLY_EXCLUSIVE)
    spec.update(argument_spec)
    module = AnsibleModule(argument_spec=spec, supports_check_mode=True,
                           mutually_exclusive=mutually_exclusive, **module_kwargs)
    if not module.params.get('token') and module.params.get('url_password') is None:
        module.fail_json(msg='grafana: set either token (service account token) or url_password')
    client = GrafanaClient(module.params)
    resource = resource_cls(module, client)
    try:
        result = resource.run()
    except GrafanaAPIError as exc:
        module.fail_json(msg=exc.one_line(), status=exc.status)
    except (KeyError, TypeError, ValueError) as exc:
        # An answer without the fields Grafana documents: report it in one line, keep the traceback.
        module.fail_json(msg=f'{resource.label}: unexpected answer from Grafana ({type(exc).__name__}: {exc})',
                         exception=traceback.format_exc())
    module.exit_json(**result)
