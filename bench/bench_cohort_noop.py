# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Benchmark: the two steps of a no-op cohort run that issue 19 made cheaper, the old way and the new way.

Starts the Grafana TEST DOUBLE as a process on 127.0.0.1 with N student organizations (default 30), each with
one dashboard, and a credentials directory in which every third student's password comes from the inventory.
Nothing needs doing, as in a re-run of the cohort role. Both ways then run through ansible-playbook:

* record: the old way copies an empty marker file per such student (``ansible.builtin.copy``, ``force: false``,
  a loop item each); the new way compares one record with what it should hold and skips its one ``copy``.
* search: the old way asks ``/api/search`` with one ``ansible.builtin.uri`` loop item per organization; the new
  way reads every organization in one ``grafana_search`` task.

The time of each step is the task's own duration (the ``ansible.posix.json`` callback's start and end), so the
playbook's start-up is left out. Every number printed is measured in this run.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
DOUBLE = REPO_ROOT / "tests" / "doubles" / "grafana" / "grafana_double.py"
ADMIN = ("admin", "admin")
RECORD = ".passwords-from-inventory.txt"
STEPS = ("record", "search")
TITLES = {"record": "record inventory passwords", "search": "find the dashboards of every org"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def call(url: str, method: str, path: str, body: Any = None, org_id: int | None = None) -> Any:
    headers = {"Authorization": "Basic " + base64.b64encode(":".join(ADMIN).encode()).decode(),
               "Content-Type": "application/json"}
    if org_id is not None:
        headers["X-Grafana-Org-Id"] = str(org_id)
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url + path, data=data, method=method, headers=headers)
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        return json.loads(response.read() or b"null")


def start_double(workdir: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GF_")}
    command = [sys.executable, str(DOUBLE), "--host", "127.0.0.1", "--port", str(port), "--no-persist",
               "--data-dir", str(workdir / "data"), "--skip-backend-check", "--config", str(workdir / "grafana.ini"),
               "--provisioning", str(workdir / "provisioning")]
    log = (workdir / "double.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO_ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            call(url, "GET", "/api/health")
            return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"the Grafana test double did not start; see {workdir / 'double.log'}")


def prepare(url: str, credentials: Path, orgs: int) -> tuple[list[int], list[str]]:
    """N organizations with a dashboard each; the record and the markers of every third student."""
    org_ids = []
    for i in range(orgs):
        org = call(url, "POST", "/api/orgs", {"name": f"bench-s{i:02d}"})["orgId"]
        call(url, "POST", "/api/dashboards/db", {"dashboard": {"uid": f"copy-{i:02d}", "title": "Copy"}}, org_id=org)
        org_ids.append(org)
    given = [f"s{i:02d}" for i in range(orgs) if i % 3 == 0]
    credentials.mkdir(parents=True, mode=0o700)
    for login in given:
        (credentials / f"{login}.txt").write_text("")
        os.chmod(credentials / f"{login}.txt", 0o600)
    record = "# bench record\n" + "".join(f"{login}\n" for login in given)
    (credentials / RECORD).write_text(record)
    os.chmod(credentials / RECORD, 0o600)
    return org_ids, given


def playbook(way: str, url: str, credentials: Path, org_ids: list[int], given: list[str]) -> list[dict[str, Any]]:
    connection = {"url": url, "url_username": ADMIN[0], "url_password": ADMIN[1]}
    if way == "old":
        tasks = [
            {"name": "record", "ansible.builtin.copy": {"content": "", "dest": f"{credentials}/{{{{ item }}}}.txt",
                                                        "mode": "0600", "force": False},
             "loop": given},
            {"name": "search", "ansible.builtin.uri": {"url": f"{url}/api/search?type=dash-db&limit=5000",
                                                       "url_username": ADMIN[0], "url_password": ADMIN[1],
                                                       "force_basic_auth": True,
                                                       "headers": {"X-Grafana-Org-Id": "{{ item }}"}},
             "loop": org_ids},
        ]
    else:
        record = f"{{{{ lookup('ansible.builtin.file', '{credentials}/{RECORD}', rstrip=false) }}}}"
        tasks = [
            {"name": "record", "ansible.builtin.copy": {"content": "{{ wanted }}", "dest": f"{credentials}/{RECORD}",
                                                        "mode": "0600"},
             "when": "wanted != current",
             "vars": {"current": record, "wanted": record}},
            {"name": "search", "data2ai.grafana_stack.grafana_search": {**connection, "org_ids": org_ids}},
        ]
    return [{"name": f"cohort no-op, {way} way", "hosts": "localhost", "connection": "local", "gather_facts": False,
             "vars": {"ansible_python_interpreter": sys.executable}, "tasks": tasks}]


def seconds(duration: dict[str, str]) -> float:
    start, end = (datetime.fromisoformat(duration[k].replace("Z", "+00:00")) for k in ("start", "end"))
    return (end - start).total_seconds()


def run(way: str, workdir: Path, url: str, credentials: Path, org_ids: list[int], given: list[str]) -> dict[str, float]:
    path = workdir / f"{way}.yml"
    path.write_text(json.dumps(playbook(way, url, credentials, org_ids, given)))
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    env.update({"no_proxy": "127.0.0.1,localhost", "NO_PROXY": "127.0.0.1,localhost",
                "ANSIBLE_STDOUT_CALLBACK": "ansible.posix.json", "ANSIBLE_LOCAL_TEMP": str(workdir / "tmp")})
    command = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", str(path)]
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{way} way failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    report = json.loads(done.stdout)
    if any(host["changed"] for host in report["stats"].values()):
        raise SystemExit(f"{way} way changed something: not a no-op")
    return {task["task"]["name"]: seconds(task["task"]["duration"]) for play in report["plays"]
            for task in play["tasks"]}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--students", type=int, default=30, help="students, one organization each (default 30)")
    parser.add_argument("--repeat", type=int, default=1, help="runs per way; the median is reported")
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="bench-cohort-"))
    process, url = start_double(workdir)
    try:
        credentials = workdir / "students"
        org_ids, given = prepare(url, credentials, args.students)
        runs: dict[str, list[dict[str, float]]] = {"old": [], "new": []}
        for _repeat in range(args.repeat):
            for way in ("old", "new"):
                runs[way].append(run(way, workdir, url, credentials, org_ids, given))
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)
    median = {way: {step: statistics.median(r[step] for r in runs[way]) for step in STEPS} for way in runs}
    if args.json:
        print(json.dumps({"students": args.students, "inventory_passwords": len(given), "runs": runs,
                          "median": median}, indent=2))
        return 0
    print(f"{args.students} students, {len(given)} with an inventory password, {args.students} organizations; "
          f"median of {args.repeat} run(s)")
    print(f"{'step':<36}{'old':>10}{'new':>10}{'old/new':>10}")
    for step in (*STEPS, "total"):
        old = sum(median["old"].values()) if step == "total" else median["old"][step]
        new = sum(median["new"].values()) if step == "total" else median["new"][step]
        title = "both steps" if step == "total" else TITLES[step]
        print(f"{title:<36}{old:>9.3f}s{new:>9.3f}s{old / new if new else float('inf'):>9.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
