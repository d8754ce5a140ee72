# Copyright: (c) 2025, data2ai contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The webhook sink of the alerts flow of ``stack_flow_check``: an HTTP server on the target that receives
Alertmanager's webhook notifications while the flow runs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit


class WebhookSink:
    """Receives Alertmanager's webhook notifications for as long as the alerts flow runs."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.url = url
        self.address = (parts.hostname or "", parts.port or 80)
        self.notifications: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    @contextmanager
    def listening(self) -> Iterator[WebhookSink]:
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                try:
                    document = json.loads(self.rfile.read(size) or b"{}")
                except ValueError:
                    document = {}
                with sink._lock:
                    sink.notifications.append(document)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:  # keep the module's output clean
                return

        server = ThreadingHTTPServer(self.address, Handler)
        thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
        thread.start()
        try:
            yield self
        finally:
            server.shutdown()
            server.server_close()

    def received(self, run_id: str, status: str) -> bool:
        with self._lock:
            notifications = list(self.notifications)
        return any(
            alert.get("status") == status and (alert.get("labels") or {}).get("verify_run") == run_id
            for notification in notifications
            for alert in notification.get("alerts") or []
        )
