#!/usr/bin/python
# Copyright: (c) 2026, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

# This file only documents the module: the action plugin plugins/action/controller_files.py does the work.

from __future__ import annotations

DOCUMENTATION = r"""
---
module: controller_files
short_description: Several small files on the Ansible controller in one task
description:
  - Writes each of O(files) on the controller, in the controller's own process (no module is sent anywhere), so a
    role that keeps records on the controller spends one cheap task on all of them.
  - A file is written only when its content or mode differs, atomically (a temporary file beside it, then a rename),
    with its mode from the start; a file whose content is the same but mode differs only gets its mode.
  - Creates O(directory) with O(directory_mode) first when it is missing; a relative O(files[].path) is in it.
  - Always acts on the controller, whatever host the task runs for.
author:
  - data2ai training team (@data2ai)
version_added: 1.1.0
options:
  directory:
    description: Directory the files go in (created when missing); relative file paths are taken in it.
    type: path
  directory_mode:
    description: Mode of O(directory) when the task creates it (an existing directory keeps its mode).
    type: str
    default: '0700'
  files:
    description: The files, each with its whole content.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Path of the file; relative paths are in O(directory).
        type: path
        required: true
      content:
        description: The whole content of the file, as text (UTF-8).
        type: str
        required: true
      mode:
        description: Mode of the file, in octal.
        type: str
        default: '0600'
attributes:
  check_mode:
    support: full
    description: Reports what would change and writes nothing.
  diff_mode:
    support: full
    description: Shows each changed file's content before and after (hide it with C(no_log) when it holds secrets).
notes:
  - Files whose content is secret belong in a task with C(no_log=true), which also hides the diff.
"""

EXAMPLES = r"""
- name: Write the cohort's handout, as Markdown and as CSV
  data2ai.grafana_stack.controller_files:
    directory: "{{ cohort_credentials_dir }}"
    files:
      - path: "{{ cohort_name }}-handout.md"
        content: "{{ handout_markdown }}"
      - path: "{{ cohort_name }}-handout.csv"
        content: "{{ handout_csv }}"
  no_log: true
"""

RETURN = r"""
directory_created:
  description: Whether the task created (or, in check mode, would create) O(directory).
  returned: always
  type: bool
files:
  description: Each file, with its path and whether it changed (or would change, in check mode).
  returned: always
  type: list
  elements: dict
  sample: [{path: /srv/cohorts/c42/c42-handout.md, changed: true}]
"""
