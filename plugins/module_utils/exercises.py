# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Exercise checks: what a student was asked to build, written as data, judged against what Grafana holds.

An exercise is a mapping with an ``id``, a ``title`` and exactly one kind:

``dashboard``
    a dashboard in the student's folder (``where: folder``, the default) or anywhere in the student's
    organization (``where: org``) that the student created or saved (Grafana's ``meta.createdBy`` /
    ``meta.updatedBy``), so an untouched starter copy never counts. Criteria, all optional, all must hold:
    ``title_contains``, ``min_panels``, ``variable_name`` (a dashboard variable of that name), and the panel
    criteria ``panel_type``, ``panel_datasource_type``, ``panel_query_contains``, ``panel_query_matches``
    (a regular expression), which must all hold for one and the same panel.

``alert_rule``
    an alert rule in the student's folder (``where: folder``, the default) or in the student's organization
    (``where: org``). Criteria: ``title_contains``, ``query_contains``, ``query_matches``, ``datasource_type``,
    all on one rule.

This module holds the pure part (validation and judgement) so that it is unit-tested without Grafana; the
module ``grafana_progress`` reads Grafana and calls it.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

KINDS = ('dashboard', 'alert_rule')
WHERE = ('folder', 'org')
#: criteria per kind and the type each takes
CRITERIA: Dict[str, Dict[str, type]] = {
    'dashboard': {
        'where': str, 'title_contains': str, 'min_panels': int, 'variable_name': str,
        'panel_type': str, 'panel_datasource_type': str, 'panel_query_contains': str,
        'panel_query_matches': str,
    },
    'alert_rule': {
        'where': str, 'title_contains': str, 'query_contains': str, 'query_matches': str,
        'datasource_type': str,
    },
}
PANEL_CRITERIA = ('panel_type', 'panel_datasource_type', 'panel_query_contains', 'panel_query_matches')
#: keys of a query (a panel target or an alert rule's model) that are bookkeeping, not the query text
NOT_QUERY_KEYS = frozenset(('refId', 'datasource', 'hide', 'key', 'legendFormat', 'interval', 'intervalMs',
                            'maxDataPoints', 'format', 'instant', 'range', 'editorMode', 'queryType',
                            'intervalFactor', 'step'))
#: Grafana's name of the mixed pseudo datasource (public/app/plugins/datasource/mixed)
MIXED = '-- Mixed --'


def validate_exercises(exercises: Any) -> List[str]:
    """One line per problem of the exercise list; empty when every exercise can be checked."""
    if not isinstance(exercises, list):
        return ['exercises: a list of exercises is expected']
    problems: List[str] = []
    seen = set()
    for index, exercise in enumerate(exercises):
        label = f'exercise {index + 1}'
        if not isinstance(exercise, Mapping):
            problems.append(f'{label}: a mapping with id, title and one of {", ".join(KINDS)} is expected')
            continue
        ex_id = exercise.get('id')
        if not isinstance(ex_id, str) or not ex_id.strip():
            problems.append(f'{label}: id is missing (a short name, such as rate-panel)')
        else:
            label = f'exercise {ex_id!r}'
            if ex_id in seen:
                problems.append(f'{label}: the id is used twice')
            seen.add(ex_id)
        unknown = sorted(set(exercise) - {'id', 'title', *KINDS})
        if unknown:
            problems.append(f'{label}: unknown key(s) {", ".join(unknown)}; an exercise has id, title and one of '
                            f'{", ".join(KINDS)}')
        kinds = [kind for kind in KINDS if kind in exercise]
        if len(kinds) != 1:
            problems.append(f'{label}: give exactly one of {", ".join(KINDS)}')
            continue
        problems.extend(_criteria_problems(label, kinds[0], exercise[kinds[0]]))
    return problems


def _criteria_problems(label: str, kind: str, criteria: Any) -> List[str]:
    if criteria is None:
        return []
    if not isinstance(criteria, Mapping):
        return [f'{label}: {kind} takes a mapping of criteria ({", ".join(CRITERIA[kind])})']
    problems = []
    for key, value in criteria.items():
        wanted = CRITERIA[kind].get(key)
        if wanted is None:
            problems.append(f'{label}: {kind} has no criterion {key!r}; known: {", ".join(CRITERIA[kind])}')
        elif wanted is int and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            problems.append(f'{label}: {kind}.{key} must be a whole number >= 0')
        elif wanted is str and (not isinstance(value, str) or not value):
            problems.append(f'{label}: {kind}.{key} must be a non-empty string')
        elif key == 'where' and value not in WHERE:
            problems.append(f'{label}: {kind}.where must be one of {", ".join(WHERE)}')
        elif key.endswith('_matches'):
            try:
                re.compile(value)
            except re.error as exc:
                problems.append(f'{label}: {kind}.{key} is not a regular expression ({exc})')
    return problems


def kind_of(exercise: Mapping[str, Any]) -> Tuple[str, Dict[str, Any]]:
    """The exercise's kind and its criteria (an empty mapping for none)."""
    for kind in KINDS:
        if kind in exercise:
            return kind, dict(exercise[kind] or {})
    raise ValueError(f"exercise {exercise.get('id')!r} has no kind")


def needs_org_rules(exercises: Iterable[Mapping[str, Any]]) -> bool:
    """Whether an exercise asks about alert rules (read once per organization, only then)."""
    return any(kind_of(exercise)[0] == 'alert_rule' for exercise in exercises)


def needs_whole_org(exercises: Iterable[Mapping[str, Any]]) -> bool:
    """Whether a dashboard exercise looks beyond the student's folder (``where: org``)."""
    return any(kind == 'dashboard' and criteria.get('where') == 'org'
               for kind, criteria in map(kind_of, exercises))


# -- datasources -----------------------------------------------------------
class Datasources:
    """An organization's datasources, to tell a panel's datasource type from its reference."""

    def __init__(self, listed: Iterable[Mapping[str, Any]]) -> None:
        self.by_uid: Dict[str, str] = {}
        self.by_name: Dict[str, str] = {}
        self.default: Optional[str] = None
        for source in listed:
            kind = str(source.get('type') or '')
            if source.get('uid'):
                self.by_uid[str(source['uid'])] = kind
            if source.get('name'):
                self.by_name[str(source['name'])] = kind
            if source.get('isDefault'):
                self.default = kind

    def type_of(self, ref: Any) -> Optional[str]:
        """The type of a datasource reference: ``{type, uid}``, a uid or name string, or None (the default)."""
        if ref is None:
            return self.default
        if isinstance(ref, Mapping):
            if ref.get('type'):
                return str(ref['type'])
            uid = ref.get('uid')
            return self.by_uid.get(str(uid)) if uid is not None else self.default
        text = str(ref)
        if text == MIXED:
            return 'mixed'
        return self.by_uid.get(text) or self.by_name.get(text)


# -- dashboards ------------------------------------------------------------
def panels_of(dashboard: Mapping[str, Any]) -> List[Mapping[str, Any]]:
    """Every panel, rows' nested panels included (a collapsed row keeps its panels inside it)."""
    found: List[Mapping[str, Any]] = []
    stack = list(dashboard.get('panels') or [])
    while stack:
        panel = stack.pop(0)
        if not isinstance(panel, Mapping):
            continue
        if panel.get('type') == 'row':
            stack[0:0] = list(panel.get('panels') or [])
            continue
        found.append(panel)
    return found


def query_texts(query: Mapping[str, Any]) -> List[str]:
    """The query text of a panel target or an alert rule's model: every string value but bookkeeping keys."""
    texts: List[str] = []
    for key, value in query.items():
        if key in NOT_QUERY_KEYS:
            continue
        if isinstance(value, str) and value:
            texts.append(value)
    return texts


def _panel_types(panel: Mapping[str, Any], sources: Datasources) -> List[str]:
    panel_ref = panel.get('datasource')
    kinds = []
    panel_type = sources.type_of(panel_ref)
    for target in panel.get('targets') or []:
        if isinstance(target, Mapping):
            target_ref = target.get('datasource')
            kinds.append(sources.type_of(target_ref) if target_ref is not None else panel_type)
    if not kinds:
        kinds.append(panel_type)
    return [kind for kind in kinds if kind]


def panel_matches(panel: Mapping[str, Any], criteria: Mapping[str, Any], sources: Datasources) -> bool:
    if 'panel_type' in criteria and panel.get('type') != criteria['panel_type']:
        return False
    if 'panel_datasource_type' in criteria and criteria['panel_datasource_type'] not in _panel_types(panel, sources):
        return False
    texts = [text for target in panel.get('targets') or [] if isinstance(target, Mapping)
             for text in query_texts(target)]
    if 'panel_query_contains' in criteria and not any(criteria['panel_query_contains'] in t for t in texts):
        return False
    pattern = criteria.get('panel_query_matches')
    return pattern is None or any(re.search(pattern, t) for t in texts)


def by_student(meta: Mapping[str, Any], login: str) -> bool:
    """Whether the student created or last saved the dashboard (logins compared as Grafana does, ignoring case)."""
    wanted = login.lower()
    return any(str(meta.get(key) or '').lower() == wanted for key in ('createdBy', 'updatedBy'))


def judge_dashboard(criteria: Mapping[str, Any], dashboard: Mapping[str, Any], sources: Datasources) -> Optional[str]:
    """None when the dashboard meets the criteria, else why not (for the report)."""
    title = str(dashboard.get('title') or '')
    if 'title_contains' in criteria and criteria['title_contains'].lower() not in title.lower():
        return f'title does not contain {criteria["title_contains"]!r}'
    panels = panels_of(dashboard)
    if len(panels) < criteria.get('min_panels', 0):
        return f'{len(panels)} panel(s), {criteria["min_panels"]} wanted'
    if 'variable_name' in criteria:
        names = [v.get('name') for v in (dashboard.get('templating') or {}).get('list') or [] if isinstance(v, Mapping)]
        if criteria['variable_name'] not in names:
            return f'no variable named {criteria["variable_name"]!r}'
    panel_criteria = {k: v for k, v in criteria.items() if k in PANEL_CRITERIA}
    if panel_criteria and not any(panel_matches(p, panel_criteria, sources) for p in panels):
        wanted = ', '.join(f'{k}={v!r}' for k, v in sorted(panel_criteria.items()))
        return f'no panel with {wanted}'
    return None


def judge_dashboards(criteria: Mapping[str, Any], dashboards: Iterable[Tuple[Mapping[str, Any], Mapping[str, Any]]],
                     login: str, sources: Datasources) -> Tuple[bool, str]:
    """(done, evidence or reason) over the (dashboard, meta) pairs in the exercise's scope."""
    mine = [dashboard for dashboard, meta in dashboards if by_student(meta, login)]
    return first_fit(mine, lambda dashboard: judge_dashboard(criteria, dashboard, sources), 'dashboard',
                     'no dashboard created or saved by the student here', 'dashboard(s) of the student')


def first_fit(objects: List[Mapping[str, Any]], judge: Any, kind: str, none_here: str,
              counted: str) -> Tuple[bool, str]:
    """(True, the first object that fits) or (False, why none does: ``none_here``, or the last one's reason)."""
    last_reason = ''
    for obj in objects:
        reason = judge(obj)
        if reason is None:
            return True, f"{kind} {obj.get('title')!r} (uid {obj.get('uid')})"
        last_reason = f"{obj.get('title')!r}: {reason}"
    if not objects:
        return False, none_here
    return False, f'{len(objects)} {counted}, none fits; last: {last_reason}'


# -- alert rules -------------------------------------------------------------
def judge_rule(criteria: Mapping[str, Any], rule: Mapping[str, Any], sources: Datasources) -> Optional[str]:
    title = str(rule.get('title') or '')
    if 'title_contains' in criteria and criteria['title_contains'].lower() not in title.lower():
        return f'title does not contain {criteria["title_contains"]!r}'
    models = [q.get('model') for q in rule.get('data') or [] if isinstance(q, Mapping)]
    texts = [t for model in models if isinstance(model, Mapping) for t in query_texts(model)]
    if 'query_contains' in criteria and not any(criteria['query_contains'] in t for t in texts):
        return f'no query contains {criteria["query_contains"]!r}'
    if 'query_matches' in criteria and not any(re.search(criteria['query_matches'], t) for t in texts):
        return f'no query matches {criteria["query_matches"]!r}'
    if 'datasource_type' in criteria:
        kinds = [sources.type_of({'uid': q.get('datasourceUid')}) for q in rule.get('data') or []
                 if isinstance(q, Mapping) and q.get('datasourceUid') not in (None, '__expr__', '-100')]
        if criteria['datasource_type'] not in kinds:
            return f'no query on a {criteria["datasource_type"]} datasource'
    return None


def judge_rules(criteria: Mapping[str, Any], rules: Iterable[Mapping[str, Any]],
                sources: Datasources) -> Tuple[bool, str]:
    return first_fit(list(rules), lambda rule: judge_rule(criteria, rule, sources), 'alert rule',
                     'no alert rule here', 'alert rule(s)')


def judge_student(exercises: Iterable[Mapping[str, Any]], login: str, folder_uid: str,
                  dashboards: List[Tuple[Mapping[str, Any], Mapping[str, Any]]],
                  rules: List[Mapping[str, Any]], sources: Datasources) -> List[Dict[str, Any]]:
    """One result per exercise: ``{id, title, done, detail}``.

    ``dashboards`` are the (dashboard, meta) pairs of the student's organization, each meta with ``folderUid``;
    ``rules`` the alert rules of the organization.
    """
    results = []
    for exercise in exercises:
        kind, criteria = kind_of(exercise)
        where = criteria.pop('where', 'folder')
        if kind == 'dashboard':
            scope = [(d, m) for d, m in dashboards if where == 'org' or m.get('folderUid') == folder_uid]
            done, detail = judge_dashboards(criteria, scope, login, sources)
        else:
            scope_rules = [r for r in rules if where == 'org' or r.get('folderUID') == folder_uid]
            done, detail = judge_rules(criteria, scope_rules, sources)
        results.append({'id': exercise['id'], 'title': exercise.get('title') or exercise['id'],
                        'done': done, 'detail': detail})
    return results
