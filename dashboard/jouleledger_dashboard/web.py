"""Rendering: the Jinja2 environment (autoescaped: everything from chain is untrusted text),
its filters, and the error page every 4xx shows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.responses import Response

TEMPLATES = Path(__file__).resolve().parent / "templates"


def isotime(timestamp: int | None) -> str:
    """Unix seconds as ``2026-12-07 16:20:00 UTC`` (empty for 0 or None).

    Args:
        timestamp: unix seconds.
    """
    if not timestamp:
        return ""
    return datetime.fromtimestamp(int(timestamp), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: int | None) -> str:
    """Seconds as the two largest units (``3 d 4 h``, ``12 min 5 s``).

    Args:
        seconds: a duration.
    """
    left = max(int(seconds or 0), 0)
    parts: list[str] = []
    for name, size in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
        if left >= size or (name == "s" and not parts):
            parts.append(f"{left // size} {name}")
            left %= size
    return " ".join(parts[:2])


def addr(address: str | None, kind: str = "accounts") -> Markup:
    """A shortened address linking to its page (``-`` when missing); escaped.

    Args:
        address: a 0x-address (untrusted text).
        kind: ``accounts`` or ``providers``.
    """
    if not address:
        return Markup('<span class="muted">—</span>')
    a = escape(address)
    return Markup(f'<a class="mono" href="/{kind}/{a}" title="{a}">{escape(address[:8])}…'
                  f"{escape(address[-6:])}</a>")  # fmt: skip


def tx(tx_hash: str | None) -> Markup:
    """A shortened transaction hash with the whole one as its title; escaped.

    Args:
        tx_hash: 0x-hex (untrusted text).
    """
    h = escape(tx_hash or "")
    return Markup(f'<span class="mono" title="{h}">{escape((tx_hash or "")[:10])}…</span>')


def when(timestamp: int | None) -> Markup:
    """A ``<time>`` element for unix seconds (``-`` when missing).

    Args:
        timestamp: unix seconds.
    """
    if not timestamp:
        return Markup('<span class="muted">—</span>')
    text = isotime(timestamp)
    return Markup(f'<time datetime="{text}">{text}</time>')


def meter(kind: str | None) -> Markup:
    """A meter kind as a coloured pill (NVML green, others grey); escaped.

    Args:
        kind: ``nvml``, ``simulated``, ...
    """
    style = "nvml" if kind == "nvml" else "sim"
    k = escape(kind or "—")
    return Markup(f'<span class="pill {style}" data-meter="{k}">{k}</span>')


def make_templates() -> Jinja2Templates:
    """The page templates, autoescaped, with the dashboard's filters."""
    templates = Jinja2Templates(directory=str(TEMPLATES))
    env = templates.env
    env.autoescape = True  # also for templates whose name does not end in .html
    env.auto_reload = False  # templates ship with the package: no stat() per render
    env.filters["isotime"] = isotime
    env.filters["duration"] = duration
    # Filters, not macros: a history table calls them hundreds of times per page, and a
    # Jinja macro call costs several times a function call.
    env.filters.update(addr=addr, tx=tx, when=when, meter=meter)
    return templates


TITLES = {400: "That is not something we can look up", 404: "Not found",
          405: "Not allowed", 422: "That is not something we can look up"}  # fmt: skip


def error_page(
    templates: Jinja2Templates, request: Request, status: int, message: str, head: Any
) -> Response:
    """The HTML error page: the status, a title and what to do.

    Args:
        templates: the page templates.
        request: the request that failed.
        status: its HTTP status.
        message: what was wrong and what to do (escaped when rendered).
        head: the index's head, for the page header.
    """
    context = {
        "status": status,
        "title": TITLES.get(status, "Something went wrong"),
        "message": message,
        "head": head,
    }
    return templates.TemplateResponse(request, "error.html", context, status_code=status)
