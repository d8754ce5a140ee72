# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: a whole cohort through our cohort role, and the same objects through community.grafana loops.

For each layout (org_per_student, single_org) and each run, two fresh Grafana TEST DOUBLES are started as processes
on 127.0.0.1 (no Docker), one per way:

* ours: the playbook includes the data2ai.grafana_stack.cohort role, given only its documented variables;
* community.grafana loops: the playbook a user of community.grafana would write, one loop per kind of object
  (grafana_user, grafana_organization, grafana_organization_user, grafana_team, grafana_datasource, grafana_folder,
  grafana_dashboard). community.grafana has no module for folder permissions, so those are read and set with
  ansible.builtin.uri in a loop, as a user would.

Each way runs twice on its double: cold (an empty Grafana) and no-op (the same playbook again). Each phase's time is
the ansible-playbook process's wall time, start-up included (the same for both ways). After each phase the bench
reads both doubles' API as the admin and compares what they hold, object by object (orgs, users, memberships,
teams, team members, folders, permission entries, dashboards, datasources); it stops with the differences if they
differ. Our no-op run must report changed=0. Every number printed is measured in this run.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DOUBLE = REPO_ROOT / "tests" / "doubles" / "grafana" / "grafana_double.py"
STARTER = REPO_ROOT / "roles" / "cohort" / "files" / "dashboards" / "starter.json"
ADMIN = ("admin", "admin")
COHORT = "bench"
LAYOUTS = ("org_per_student", "single_org")
PHASES = ("cold", "no-op")
WAYS = ("ours", "community")
KINDS = ("orgs", "users", "memberships", "teams", "team members", "folders", "permission entries", "dashboards",
         "datasources")
STUDENTS_PER_TEAM = 5
# One datasource in every organization of the cohort, as cohort_datasources asks of the role.
DATASOURCES = [{"name": "Prometheus", "uid": "prometheus", "type": "prometheus",
                "data_source_url": "http://prometheus:9090"}]
# The cohort role's documented defaults that the community.grafana playbook mirrors.
STUDENT_ORG_ROLE = "Admin"  # cohort_student_org_role
FOLDER_PERMISSION = "Edit"  # cohort_student_folder_permission
LEVELS = {"View": 1, "Edit": 2, "Admin": 4}

OURS_PLAYBOOK = """\
- name: Cohort through the data2ai.grafana_stack.cohort role
  hosts: all
  gather_facts: false
  tasks:
    - name: Provision the cohort
      ansible.builtin.include_role:
        name: data2ai.grafana_stack.cohort
"""

# What a user of community.grafana writes: a loop per kind of object. The vars (students with their org, folder and
# dashboard names, teams, datasources, grafana_url, credentials_dir) come from a vars file.
COMMUNITY_PLAYBOOK = """\
- name: Cohort through community.grafana loops
  hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/community.grafana.grafana:
      url: "{{ grafana_url }}"
      url_username: "{{ grafana_user }}"
      url_password: "{{ grafana_password }}"
  tasks:
    - name: Create the students' users
      community.grafana.grafana_user:
        login: "{{ item.login }}"
        name: "{{ item.name }}"
        email: "{{ item.email }}"
        password: >-
          {{ lookup('ansible.builtin.password', credentials_dir ~ '/' ~ item.login ~ '.txt',
                    length=16, chars=['ascii_letters', 'digits']) }}
      loop: "{{ students }}"
      loop_control:
        label: "{{ item.login }}"
      register: users

    - name: Create the organizations
      community.grafana.grafana_organization:
        name: "{{ item }}"
      loop: "{{ students | map(attribute='org_name') | unique }}"
      register: orgs

    - name: Make each student a member of their organization
      community.grafana.grafana_organization_user:
        org_name: "{{ item.org_name }}"
        login: "{{ item.login }}"
        role: "{{ item.org_role | lower }}"
      loop: "{{ students }}"
      loop_control:
        label: "{{ item.org_name }}: {{ item.login }}"

    - name: Create the datasources in every organization
      community.grafana.grafana_datasource:
        org_name: "{{ item.0 }}"
        name: "{{ item.1.name }}"
        uid: "{{ item.1.uid }}"
        ds_type: "{{ item.1.type }}"
        ds_url: "{{ item.1.data_source_url }}"
      loop: "{{ students | map(attribute='org_name') | unique | product(datasources) }}"
      loop_control:
        label: "{{ item.0 }}: {{ item.1.name }}"

    - name: Create a team per student group
      community.grafana.grafana_team:
        org_name: "{{ item.org_name }}"
        name: "{{ item.name }}"
        email: ""
        members: "{{ item.members }}"
      loop: "{{ teams }}"
      loop_control:
        label: "{{ item.name }}"
      register: team_results

    - name: Create the team folders
      community.grafana.grafana_folder:
        org_name: "{{ item.org_name }}"
        uid: "{{ item.folder_uid }}"
        title: "{{ item.name }}"
      loop: "{{ teams }}"
      loop_control:
        label: "{{ item.folder_uid }}"

    - name: Create each student's own folder
      community.grafana.grafana_folder:
        org_name: "{{ item.org_name }}"
        uid: "{{ item.folder_uid }}"
        title: "{{ item.folder_title }}"
        parent_uid: "{{ item.team_folder_uid or omit }}"
      loop: "{{ students }}"
      loop_control:
        label: "{{ item.folder_uid }}"

    - name: Work out the folders' permission lists (ids of organizations, users and teams)
      ansible.builtin.set_fact:
        org_ids: >-
          {{ dict(orgs.results | map(attribute='item') | zip(orgs.results | map(attribute='org.id'))) }}
        acls: >-
          {%- set user_ids = dict(users.results | map(attribute='item.login')
                                  | zip(users.results | map(attribute='user.id'))) -%}
          {%- set team_ids = dict(team_results.results | map(attribute='item.name')
                                  | zip(team_results.results | map(attribute='team.id'))) -%}
          {%- set ns = namespace(out=[]) -%}
          {%- for team in teams -%}
          {%-   set ns.out = ns.out + [{'org_name': team.org_name, 'uid': team.folder_uid,
                                        'items': [{'teamId': team_ids[team.name], 'permission': 1},
                                                  {'role': 'Editor', 'permission': 2}]}] -%}
          {%- endfor -%}
          {%- for student in students -%}
          {%-   set ns.out = ns.out + [{'org_name': student.org_name, 'uid': student.folder_uid,
                                        'items': [{'userId': user_ids[student.login],
                                                   'permission': student.folder_permission},
                                                  {'role': 'Editor', 'permission': 2}]}] -%}
          {%- endfor -%}
          {{ ns.out }}

    # community.grafana has no module for folder permissions: the folder permissions API through uri.
    - name: Read the folders' permissions
      ansible.builtin.uri:
        url: "{{ grafana_url }}/api/folders/{{ item.uid }}/permissions"
        url_username: "{{ grafana_user }}"
        url_password: "{{ grafana_password }}"
        force_basic_auth: true
        headers:
          X-Grafana-Org-Id: "{{ org_ids[item.org_name] }}"
      loop: "{{ acls }}"
      loop_control:
        label: "{{ item.uid }}"
      register: current_acls

    - name: Set the folders' permissions where they differ
      ansible.builtin.uri:
        url: "{{ grafana_url }}/api/folders/{{ item.item.uid }}/permissions"
        method: POST
        url_username: "{{ grafana_user }}"
        url_password: "{{ grafana_password }}"
        force_basic_auth: true
        headers:
          X-Grafana-Org-Id: "{{ org_ids[item.item.org_name] }}"
        body_format: json
        body:
          items: "{{ item.item['items'] }}"
      changed_when: true
      when: current != wanted
      vars:
        current: >-
          {%- set ns = namespace(out=[]) -%}
          {%- for entry in item.json | rejectattr('inherited') -%}
          {%-   set ns.out = ns.out + [('u' ~ entry.userId if entry.userId else 't' ~ entry.teamId if entry.teamId
                                        else 'r' ~ entry.role) ~ '=' ~ entry.permission] -%}
          {%- endfor -%}
          {{ ns.out | sort }}
        wanted: >-
          {%- set ns = namespace(out=[]) -%}
          {%- for entry in item.item['items'] -%}
          {%-   set ns.out = ns.out + [('u' ~ entry.userId if entry.userId is defined else 't' ~ entry.teamId
                                        if entry.teamId is defined else 'r' ~ entry.role) ~ '=' ~ entry.permission] -%}
          {%- endfor -%}
          {{ ns.out | sort }}
      loop: "{{ current_acls.results }}"
      loop_control:
        label: "{{ item.item.uid }}"

    - name: Copy the starter dashboard into each student's folder
      community.grafana.grafana_dashboard:
        org_name: "{{ item.org_name }}"
        folder: "{{ item.folder_uid }}"
        parent_folder: "{{ item.team_folder_uid or omit }}"
        path: "{{ starter_dashboard }}"
        uid: "{{ item.dashboard_uid }}"
        commit_message: Starter dashboard copied for {{ item.login }}
      loop: "{{ students }}"
      loop_control:
        label: "{{ item.dashboard_uid }}"
"""


# --------------------------------------------------------------------------
# The cohort: students, and the names the role gives their objects
# --------------------------------------------------------------------------


def students(count: int) -> list[dict[str, Any]]:
    """The inventory's students: every fifth an Editor, the others Viewers, five to a team."""
    return [{"name": f"Student {i:02d}", "login": f"s{i:02d}", "email": f"s{i:02d}@example.org",
             "role": "Editor" if i % 5 == 0 else "Viewer", "team": f"team-{(i - 1) // STUDENTS_PER_TEAM + 1}"}
            for i in range(1, count + 1)]


def derived_uid(kind: str, name: str) -> str:
    """A folder's uid as the cohort role documents it: cohort-<cohort_name>-u-<login> (t-<team> for a team)."""
    return f"cohort-{COHORT}-{kind}-{name}"


def copy_uid(login: str) -> str:
    """The uid the cohort role gives a student's copy of starter.json (derived from the cohort, login and file)."""
    return "cohort-d-" + hashlib.sha1(f"{COHORT}/{login}/{STARTER.name}".encode()).hexdigest()[:31]


def community_vars(layout: str, cohort: list[dict[str, Any]]) -> dict[str, Any]:
    """The community.grafana playbook's vars: the same objects the cohort role makes for this layout."""
    per_student = layout == "org_per_student"
    roster = []
    for student in cohort:
        roster.append({
            "login": student["login"], "name": student["name"], "email": student["email"],
            "org_name": f"{COHORT}-{student['login']}" if per_student else COHORT,
            "org_role": STUDENT_ORG_ROLE if per_student else student["role"],
            "folder_uid": derived_uid("u", student["login"]),
            "folder_title": f"{student['name']} ({student['login']})",
            "folder_permission": LEVELS[FOLDER_PERMISSION],
            "team_folder_uid": "" if per_student else derived_uid("t", student["team"]),
            "dashboard_uid": copy_uid(student["login"]),
        })
    teams = []
    if not per_student:
        for team in sorted({s["team"] for s in cohort}):
            teams.append({"org_name": COHORT, "name": team, "folder_uid": derived_uid("t", team),
                          "members": sorted(s["email"] for s in cohort if s["team"] == team)})
    return {"students": roster, "teams": teams, "datasources": DATASOURCES, "starter_dashboard": str(STARTER)}


# --------------------------------------------------------------------------
# The Grafana TEST DOUBLE
# --------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Double:
    """A fresh Grafana TEST DOUBLE process and the admin's reads of its API."""

    def __init__(self, workdir: Path) -> None:
        workdir.mkdir(parents=True)
        self.workdir = workdir
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("GF_")}
        command = [sys.executable, str(DOUBLE), "--host", "127.0.0.1", "--port", str(port), "--no-persist",
                   "--data-dir", str(workdir / "data"), "--skip-backend-check",
                   "--config", str(workdir / "grafana.ini"), "--provisioning", str(workdir / "provisioning")]
        with (workdir / "double.log").open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT)
        self.url = f"http://127.0.0.1:{port}"
        self.opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                self.get("/api/health")
                return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise SystemExit(f"the Grafana test double did not start; see {workdir / 'double.log'}")

    def request(self, path: str, org_id: int | None = None) -> bytes:
        headers = {"Authorization": "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode()}
        if org_id is not None:
            headers["X-Grafana-Org-Id"] = str(org_id)
        with self.opener.open(urllib.request.Request(self.url + path, headers=headers), timeout=30) as response:
            return response.read()

    def get(self, path: str, org_id: int | None = None) -> Any:
        return json.loads(self.request(path, org_id) or b"null")

    def server_time(self) -> tuple[int, float]:
        """Requests served and seconds spent serving them, from the double's /metrics (its own endpoints left out)."""
        count, seconds = 0, 0.0
        for line in self.request("/metrics").decode().splitlines():
            if not line.startswith("grafana_http_request_duration_seconds_") or 'handler="/metrics"' in line:
                continue
            name, value = line.rsplit(" ", 1)
            if name.startswith("grafana_http_request_duration_seconds_count"):
                count += int(float(value))
            else:
                seconds += float(value)
        return count, seconds

    def state(self) -> dict[str, set[tuple[Any, ...]]]:
        """Every object a cohort makes, by kind, as the admin reads them (names, not ids)."""
        found: dict[str, set[tuple[Any, ...]]] = {kind: set() for kind in KINDS}
        found["users"] = {(u["login"], u["name"], u["email"]) for u in self.get("/api/users?perpage=100000")}
        for org in self.get("/api/orgs?perpage=100000"):
            oid, name = org["id"], org["name"]
            found["orgs"].add((name,))
            found["memberships"] |= {(name, m["login"], m["role"]) for m in self.get(f"/api/orgs/{oid}/users")}
            for team in self.get("/api/teams/search?perpage=100000", org_id=oid)["teams"]:
                found["teams"].add((name, team["name"], team.get("email") or ""))
                found["team members"] |= {(name, team["name"], m["login"])
                                          for m in self.get(f"/api/teams/{team['id']}/members", org_id=oid)}
            folders = self.get("/api/search?type=dash-folder&limit=5000", org_id=oid)
            for hit in folders:
                folder = self.get(f"/api/folders/{urllib.parse.quote(hit['uid'])}", org_id=oid)
                found["folders"].add((name, folder["uid"], folder["title"], folder.get("parentUid") or ""))
                for entry in self.get(f"/api/folders/{urllib.parse.quote(hit['uid'])}/permissions", org_id=oid):
                    if entry.get("inherited"):
                        continue
                    who = (f"user {entry['userLogin']}" if entry.get("userId") else
                           f"team {entry['team']}" if entry.get("teamId") else f"role {entry.get('role')}")
                    found["permission entries"].add((name, folder["uid"], who, entry["permission"]))
            for hit in self.get("/api/search?type=dash-db&limit=5000", org_id=oid):
                board = self.get(f"/api/dashboards/uid/{urllib.parse.quote(hit['uid'])}", org_id=oid)
                model = {k: v for k, v in board["dashboard"].items() if k not in ("id", "version")}
                digest = hashlib.sha1(json.dumps(model, sort_keys=True).encode()).hexdigest()[:12]
                found["dashboards"].add((name, hit["uid"], board["meta"].get("folderUid") or "", digest))
            found["datasources"] |= {(name, d["uid"], d["name"], d["type"], d.get("url") or "")
                                     for d in self.get("/api/datasources", org_id=oid)}
        return found

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --------------------------------------------------------------------------
# The two ways
# --------------------------------------------------------------------------


def ansible_env(workdir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update({"no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1,localhost",
                "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_NOCOLOR": "1",
                "ANSIBLE_RETRY_FILES_ENABLED": "0", "ANSIBLE_LOCAL_TEMP": str(workdir / "ansible-tmp")})
    return env


def prepare(way: str, layout: str, cohort: list[dict[str, Any]], double: Double, workdir: Path) -> list[str]:
    """Writes the way's playbook and inventory or vars under ``workdir``; the ansible-playbook command."""
    workdir.mkdir(parents=True)
    playbook = workdir / "playbook.yml"
    interpreter = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
    if way == "ours":
        inventory = workdir / "inventory"
        (inventory / "group_vars").mkdir(parents=True)
        (inventory / "hosts.yml").write_text(json.dumps({"all": {"hosts": {"localhost": interpreter}}}))
        group_vars = {"cohort_grafana_url": double.url, "cohort_grafana_user": ADMIN[0],
                      "cohort_grafana_password": ADMIN[1], "cohort_name": COHORT, "cohort_layout": layout,
                      "cohort_starter_dashboards": [str(STARTER)], "cohort_datasources": DATASOURCES,
                      "cohort_credentials_dir": str(workdir / "students"), "students": cohort}
        (inventory / "group_vars" / "all.yml").write_text(json.dumps(group_vars))
        playbook.write_text(OURS_PLAYBOOK)
        return ["-i", str(inventory), str(playbook)]
    extra = {**community_vars(layout, cohort), **interpreter, "grafana_url": double.url,
             "grafana_user": ADMIN[0], "grafana_password": ADMIN[1], "credentials_dir": str(workdir / "students")}
    (workdir / "vars.json").write_text(json.dumps(extra))
    playbook.write_text(COMMUNITY_PLAYBOOK)
    return ["-i", "localhost,", str(playbook), "-e", f"@{workdir / 'vars.json'}"]


def run_playbook(arguments: list[str], workdir: Path, what: str) -> tuple[float, int]:
    """Runs ansible-playbook; its wall time and the number of changed tasks (loop items count once per task)."""
    command = [str(Path(sys.executable).parent / "ansible-playbook"), *arguments]
    started = time.monotonic()
    done = subprocess.run(command, cwd=REPO_ROOT, env=ansible_env(workdir), capture_output=True, text=True,
                          check=False)
    elapsed = time.monotonic() - started
    (workdir / f"{what}.out").write_text(done.stdout + done.stderr)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed (rc={done.returncode}); output in {workdir / (what + '.out')}:\n"
                         f"{done.stdout[-4000:]}{done.stderr[-2000:]}")
    stats = json.loads(done.stdout)["stats"]
    return elapsed, sum(int(host.get("changed", 0)) for host in stats.values())


# --------------------------------------------------------------------------
# Pure parts: state comparison, medians, table
# --------------------------------------------------------------------------


def compare_states(ours: Mapping[str, Iterable[tuple[Any, ...]]],
                   theirs: Mapping[str, Iterable[tuple[Any, ...]]]) -> list[str]:
    """One line per kind whose objects differ (count, and what only one side holds); empty when they are the same."""
    problems = []
    for kind in sorted(set(ours) | set(theirs), key=lambda k: (KINDS.index(k) if k in KINDS else len(KINDS), k)):
        mine, other = set(ours.get(kind, ())), set(theirs.get(kind, ()))
        if mine == other:
            continue
        line = f"{kind}: ours {len(mine)}, community.grafana {len(other)}"
        if mine - other:
            line += f"; only ours: {sorted(mine - other)[:5]}"
        if other - mine:
            line += f"; only community.grafana: {sorted(other - mine)[:5]}"
        problems.append(line)
    return problems


def counts(state: Mapping[str, Iterable[Any]]) -> dict[str, int]:
    return {kind: len(list(state.get(kind, ()))) for kind in KINDS}


def medians(runs: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str, str], float]:
    """The median of each (layout, phase, way)'s seconds over the runs."""
    samples: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for run in runs:
        samples[(run["layout"], run["phase"], run["way"])].append(float(run["seconds"]))
    return {key: statistics.median(values) for key, values in samples.items()}


def table(runs: list[Mapping[str, Any]]) -> str:
    """layout, phase, ours (s), community.grafana loops (s), ratio, requests and server time per request."""
    median = medians(runs)
    requests: dict[tuple[str, str, str], list[tuple[int, float]]] = defaultdict(list)
    for run in runs:
        requests[(run["layout"], run["phase"], run["way"])].append((run["requests"], run["server_seconds"]))
    header = (f"{'layout':<16}{'phase':<7}{'ours':>10}{'community':>11}{'ratio':>8}"
              f"{'requests ours/comm.':>21}{'server ms/req ours/comm.':>26}")
    lines = [header]
    for layout in LAYOUTS:
        for phase in PHASES:
            if (layout, phase, "ours") not in median:
                continue
            ours, theirs = median[(layout, phase, "ours")], median[(layout, phase, "community")]
            per_request, served = [], []
            for way in WAYS:
                numbers = requests[(layout, phase, way)]
                served_counts = [count for count, _seconds in numbers]
                seconds = sum(spent for _count, spent in numbers)
                total = sum(served_counts)
                count = statistics.median(served_counts)
                served.append(f"{count:.0f}")
                per_request.append(f"{1000 * seconds / total:.1f}" if total else "-")
            ratio = f"{theirs / ours:.1f}x" if ours else "-"
            lines.append(f"{layout:<16}{phase:<7}{ours:>9.1f}s{theirs:>10.1f}s{ratio:>8}"
                         f"{'/'.join(served):>21}{'/'.join(per_request):>26}")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------


def measure(layout: str, run: int, cohort: list[dict[str, Any]], workdir: Path) -> list[dict[str, Any]]:
    """One run of one layout: each way on its own fresh double, cold then no-op; the states compared."""
    results, states = [], {}
    for way in WAYS:
        base = workdir / f"{layout}-{run}-{way}"
        double = Double(base / "double")
        try:
            arguments = prepare(way, layout, cohort, double, base / "play")
            for phase in PHASES:
                before = double.server_time()
                seconds, changed = run_playbook(arguments, base / "play", f"{way}-{phase}")
                after = double.server_time()
                if way == "ours" and phase == "no-op" and changed:
                    raise SystemExit(f"{layout}, run {run}: our no-op run reported changed={changed}; see "
                                     f"{base / 'play' / 'ours-no-op.out'}")
                states[(way, phase)] = double.state()
                results.append({"layout": layout, "phase": phase, "way": way, "run": run, "seconds": seconds,
                                "changed": changed, "requests": after[0] - before[0],
                                "server_seconds": after[1] - before[1],
                                "counts": counts(states[(way, phase)])})
                print(f"  {layout:<16} run {run} {way:<10} {phase:<6} {seconds:7.1f}s changed={changed}",
                      file=sys.stderr, flush=True)
        finally:
            double.stop()
    for phase in PHASES:
        problems = compare_states(states[("ours", phase)], states[("community", phase)])
        if problems:
            raise SystemExit(f"{layout}, run {run}, {phase}: the two ways left different states in the double:\n  "
                             + "\n  ".join(problems))
    return results


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=30, help="students in the cohort (default 30)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each layout; medians are reported (default 3)")
    parser.add_argument("--layout", choices=LAYOUTS, action="append",
                        help="measure only this layout (may be repeated; default both)")
    parser.add_argument("--json", action="store_true", help="print every run's results as JSON")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (playbooks, outputs, logs)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.students < 1 or args.runs < 1:
        raise SystemExit("--students and --runs must be at least 1")
    try:
        import ansible_collections.community.grafana  # noqa: F401
    except ImportError:
        raise SystemExit("community.grafana is missing: install requirements.txt (the ansible package) in the venv") \
            from None
    layouts = args.layout or list(LAYOUTS)
    cohort = students(args.students)
    workdir = Path(tempfile.mkdtemp(prefix="bench-cohort-"))
    runs: list[dict[str, Any]] = []
    try:
        for run in range(1, args.runs + 1):
            for layout in layouts:
                runs.extend(measure(layout, run, cohort, workdir))
    finally:
        if args.keep:
            print(f"work directory kept: {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    if args.json:
        print(json.dumps({"students": args.students, "runs": runs}, indent=2))
        return 0
    teams = -(-args.students // STUDENTS_PER_TEAM)
    print(f"{args.students} students ({teams} teams in single_org), {len(DATASOURCES)} datasource per org, "
          f"median of {args.runs} run(s); each way on its own fresh Grafana test double")
    print(table(runs))
    print("objects in the double after each way (the same for both ways, checked after every phase):")
    for layout in layouts:
        last = next(r for r in reversed(runs) if r["layout"] == layout)
        print(f"  {layout}: " + ", ".join(f"{n} {kind}" for kind, n in last["counts"].items()))
    print("community.grafana has no folder permission module: the community.grafana playbook reads and sets folder "
          "permissions with ansible.builtin.uri loops.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
