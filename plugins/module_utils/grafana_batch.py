# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Many Grafana objects in one module run: each read, compared and written by its kind's resource class
(grafana_objects.py, the same code as the single-object modules), over one shared client, several at a time.

An object waits for the objects it needs (a user before the organizations and teams it is a member of, an
organization before what lives in it, a folder before its subfolders and dashboards, a team before the folder
permissions that name it). A failed object is reported with one line and does not stop the others; the objects that
need it are skipped, and say which object they needed.
"""

from __future__ import annotations

import copy
import threading
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ansible_collections.data2ai.grafana_stack.plugins.module_utils.grafana_api import GrafanaAPIError, GrafanaClient
from ansible_collections.data2ai.grafana_stack.plugins.module_utils.http_transport import one_line

Key = Tuple[str, str, str]  # (kind, organization name or '', name)

#: an action of a result
CREATED, UPDATED, UNCHANGED, DELETED = 'created', 'updated', 'unchanged', 'deleted'
FAILED, SKIPPED = 'failed', 'skipped'
#: the actions that change Grafana
CHANGES = (CREATED, UPDATED, DELETED)


class ObjectFailed(Exception):
    """A resource refused its object (``fail_json`` of :class:`ObjectModule`); ``str()`` is the one line."""


class ObjectModule:
    """What a resource class uses of an AnsibleModule, for one object of a batch.

    ``fail_json`` raises :class:`ObjectFailed` instead of ending the module; warnings are collected for the batch.
    The diff is always computed (the batch reports created and updated from it), and a present object is not read
    again for its result.
    """

    reread_results = False

    def __init__(self, params: Dict[str, Any], check_mode: bool, warnings: List[str], concurrency: int = 1) -> None:
        # How many requests of its own an object may send at once (an organization's new members): fail_json
        # raises here, so a refusal in one of them reaches the object's result, not the module's output.
        self.concurrency = concurrency
        self.params = params
        self.check_mode = check_mode
        self._diff = True
        self._warnings = warnings

    def warn(self, warning: str) -> None:
        self._warnings.append(warning)

    def fail_json(self, msg: str, **_kwargs: Any) -> None:
        raise ObjectFailed(msg)


class Job:
    """One object of the batch: its kind's resource class, its options, and the objects it needs."""

    def __init__(self, kind: str, resource_cls: type, params: Dict[str, Any], name: str, org: str = '',
                 needs: Sequence[Key] = (), label: str = '', after: Sequence[Key] = ()) -> None:
        self.kind = kind
        self.resource_cls = resource_cls
        self.params = params
        self.name = name
        self.org = org
        self.needs = list(needs)
        # waited for, but not needed: the job runs whatever their outcome
        self.after = list(after)
        self.label = label

    @property
    def key(self) -> Key:
        return (self.kind, self.org, self.name)

    def describe(self) -> str:
        where = f" in organization '{self.org}'" if self.org else ''
        return f"{self.kind} '{self.name}'{where}"


class OrgClients:
    """One client per organization, each a shallow copy of the shared client with the organization set: the copies
    share the client's connections and the server version it read, and each resolves its organization's name once."""

    def __init__(self, client: GrafanaClient) -> None:
        self.client = client
        self._by_org: Dict[str, GrafanaClient] = {}
        self._lock = threading.Lock()

    def get(self, org: str) -> GrafanaClient:
        if not org:
            return self.client
        with self._lock:
            if org not in self._by_org:
                scoped = copy.copy(self.client)
                scoped.org_id = None  # resolved on first use: from the client's organization list if read
                # As the option org_name of a single-object module; the /apis namespace is that organization's.
                scoped._org_name = org  # pylint: disable=protected-access
                scoped._namespace = None  # pylint: disable=protected-access
                self._by_org[org] = scoped
            return self._by_org[org]


def action_of(params: Dict[str, Any], result: Dict[str, Any]) -> str:
    if not result.get('changed'):
        return UNCHANGED
    if params.get('state') == 'absent':
        return DELETED
    return UPDATED if (result.get('diff') or {}).get('before') else CREATED


class Batch:
    """Runs jobs by dependency, ``concurrency`` at a time, and collects one result per job, in the jobs' order."""

    def __init__(self, client: GrafanaClient, check_mode: bool, concurrency: int = 8) -> None:
        self.check_mode = check_mode
        self.concurrency = max(1, int(concurrency))
        # ``concurrency`` bounds the requests in flight, not only the objects: an object that sends several
        # requests at once (an organization's or a team's new members) shares the same slots.
        client.limit_requests(self.concurrency)
        self.clients = OrgClients(client)
        self.warnings: List[str] = []

    def run_one(self, job: Job) -> Dict[str, Any]:
        result: Dict[str, Any] = {'kind': job.kind, 'name': job.name, 'org': job.org}
        try:
            resource = job.resource_cls(ObjectModule(job.params, self.check_mode, self.warnings, self.concurrency),
                                        self.clients.get(job.org))
            outcome = resource.run()
        except ObjectFailed as exc:
            msg = one_line(exc)
            if job.org and f"'{job.org}'" not in msg:
                msg += f" (in organization '{job.org}')"
            return dict(result, action=FAILED, msg=msg)
        except GrafanaAPIError as exc:
            obj = exc.obj
            if job.org and f"'{job.org}'" not in obj:
                obj += f" in organization '{job.org}'"
            line = GrafanaAPIError(obj, exc.status, exc.message).one_line()
            return dict(result, action=FAILED, msg=line, status=exc.status)
        except (KeyError, TypeError, ValueError) as exc:
            # An answer without the fields Grafana documents.
            return dict(result, action=FAILED, msg=one_line(f'{job.describe()}: unexpected answer from Grafana '
                                                            f'({type(exc).__name__}: {exc})'),
                        exception=traceback.format_exc())
        result['action'] = action_of(job.params, outcome)
        result['diff'] = outcome.get('diff') or {}
        return result

    def run(self, jobs: List[Job], run_one: Optional[Callable[[Job], Dict[str, Any]]] = None) -> List[Dict[str, Any]]:
        run_one = run_one or self.run_one
        known = {job.key for job in jobs}
        waiting = {job.key: job for job in jobs}
        done: Dict[Key, Dict[str, Any]] = {}
        running: Dict[Future, Key] = {}
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            while waiting or running:
                progressed = False
                for key, job in list(waiting.items()):
                    needs = [need for need in job.needs if need in known and need != key]
                    if any(need not in done for need in needs + [k for k in job.after if k in known and k != key]):
                        continue
                    del waiting[key]
                    progressed = True
                    missing = [need for need in needs if done[need]['action'] in (FAILED, SKIPPED)]
                    if missing:
                        first = waiting_for = done[missing[0]]
                        what = f"{first['kind']} '{first['name']}'"
                        done[key] = {'kind': job.kind, 'name': job.name, 'org': job.org, 'action': SKIPPED,
                                     'msg': f"{job.describe()}: skipped, it needs {what}, which "
                                            f"{'failed' if waiting_for['action'] == FAILED else 'was skipped'}"}
                        continue
                    running[pool.submit(run_one, job)] = key
                if running:
                    finished = wait(list(running), return_when=FIRST_COMPLETED).done
                    for future in finished:
                        done[running.pop(future)] = future.result()
                elif waiting and not progressed:
                    # Objects that need each other (a folder that is its own ancestor): none can start.
                    for key, job in waiting.items():
                        done[key] = {'kind': job.kind, 'name': job.name, 'org': job.org, 'action': FAILED,
                                     'msg': f'{job.describe()}: needs objects that need it in turn (a cycle)'}
                    waiting.clear()
        return [done[job.key] for job in jobs]


def failure_lines(results: List[Dict[str, Any]]) -> List[str]:
    """One line per failed object."""
    return [result['msg'] for result in results if result['action'] == FAILED]


def diff_entries(jobs: List[Job], results: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """The diffs of the objects that change, each headed by its kind, organization and name (or label)."""
    diffs = []
    for job, result in zip(jobs, results):
        if result['action'] not in CHANGES or not result.get('diff'):
            continue
        header = f'{job.kind} {job.label}' if job.label else job.describe()
        diffs.append({'before_header': header, 'after_header': header,
                      'before': result['diff'].get('before') or {}, 'after': result['diff'].get('after') or {}})
    return diffs


def provision(module: Any, client: GrafanaClient, jobs: List[Job],
              prepare: Optional[Callable[[GrafanaClient], None]] = None) -> Tuple[Dict[str, Any], str]:
    """Runs the jobs of a module (grafana_cohort, grafana_content); its output (changed, diff in diff mode, results,
    changes: a line per object created, updated or deleted, failures) and, when objects failed or were skipped, its
    one message: a line per failed object, and one naming the skipped ones.

    ``prepare(client)`` runs before the jobs (grafana_cohort reads its user and organization lists there)."""
    if any(job.kind in ('folder', 'dashboard') for job in jobs):
        try:
            client.server_major()  # once: the organizations' clients share what it read
        except GrafanaAPIError as exc:
            return {'status': exc.status}, exc.one_line()
    if prepare is not None:
        prepare(client)
    batch = Batch(client, module.check_mode, module.params['concurrency'])
    results = batch.run(jobs)
    for warning in dict.fromkeys(batch.warnings):
        module.warn(warning)
    out: Dict[str, Any] = {'changed': any(r['action'] in CHANGES for r in results)}
    if module._diff:  # pylint: disable=protected-access
        out['diff'] = diff_entries(jobs, results)
    out['results'] = [{k: v for k, v in r.items() if k not in ('diff', 'exception')} for r in results]
    out['changes'] = [f"{job.describe()} {r['action']}" for job, r in zip(jobs, results) if r['action'] in CHANGES]
    out['failures'] = failure_lines(results)
    skipped = [r['msg'] for r in results if r['action'] == SKIPPED]
    lines: List[str] = list(out['failures'])
    if skipped:
        lines.append(f'{len(skipped)} skipped: ' + '; '.join(skipped))
    return out, '\n'.join(lines)


def run_module(module: Any, jobs: List[Job], prepare: Optional[Callable[[GrafanaClient], None]] = None,
               client: Optional[GrafanaClient] = None) -> None:
    """Runs the jobs over one client and exits the module: ``fail_json`` with one line per failed object (and one
    for the skipped ones), else ``exit_json``.

    One login for the whole run (not in check mode, which opens no session in Grafana): Grafana then checks a
    session token on each request instead of hashing the password (see GrafanaClient.start_session)."""
    client = client if client is not None else GrafanaClient(module.params)
    if not module.check_mode:
        client.start_session()
    try:
        out, failed = provision(module, client, jobs, prepare)
    finally:
        client.end_session()
    if failed:
        module.fail_json(msg=failed, **out)
    module.exit_json(**out)
