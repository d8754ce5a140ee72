"""Small helpers the API modules share: slugs, uid rules, paging."""

from __future__ import annotations

import re
import unicodedata
from typing import Any, Sequence

UID_RE = re.compile(r"^[a-zA-Z0-9\-_]*$")
MAX_UID_LENGTH = 40


def slugify(title: str) -> str:
    """A URL slug like Grafana's: lower-case ASCII words joined by dashes."""
    text = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode().lower()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return text


def uid_problem(uid: str) -> str | None:
    """Why a uid is not acceptable to Grafana, or None."""
    if not UID_RE.match(uid):
        return "uid contains illegal characters"
    if len(uid) > MAX_UID_LENGTH:
        return "uid too long, max 40 characters"
    return None


def as_int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def page(items: Sequence[Any], per_page: int, page_no: int) -> list[Any]:
    per_page = per_page if per_page > 0 else 1000
    page_no = page_no if page_no > 0 else 1
    start = (page_no - 1) * per_page
    return list(items[start : start + per_page])
