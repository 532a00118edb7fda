"""Rendering: the Jinja2 environment (autoescaped: everything from chain is untrusted text),
its filters, and the error page every 4xx shows."""

from __future__ import annotations

import html
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.responses import Response

from .models import HistoryRow

TEMPLATES = Path(__file__).resolve().parent / "templates"


def isotime(timestamp: int | None) -> str:
    """Unix seconds as ``2026-12-07 16:20:00 UTC`` (empty for 0 or None).

    Args:
        timestamp: unix seconds.
    """
    if not timestamp:
        return ""
    # time.strftime: the same text as datetime's, in less than half the time (a history
    # page formats fifty of them).
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(int(timestamp)))


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


def _text(value: object) -> str:
    """`value` as HTML text, safe inside an element and a quoted attribute alike.

    `html.escape` rather than markupsafe's `escape` for the helpers below: the same five
    characters replaced, without building a `Markup` per call (the history table makes
    hundreds of calls per page).
    """
    return html.escape(str(value), quote=True)


_MISSING_HTML = '<span class="muted">—</span>'


def _addr_html(address: str | None, kind: str) -> str:
    if not address:
        return _MISSING_HTML
    a = _text(address)
    return (f'<a class="mono" href="/{_text(kind)}/{a}" title="{a}">{_text(address[:8])}…'
            f"{_text(address[-6:])}</a>")  # fmt: skip


def _tx_html(tx_hash: str | None) -> str:
    whole = tx_hash or ""
    return f'<span class="mono" title="{_text(whole)}">{_text(whole[:10])}…</span>'


def _when_html(timestamp: int | None) -> str:
    if not timestamp:
        return _MISSING_HTML
    text = isotime(timestamp)
    return f'<time datetime="{text}">{text}</time>'


def addr(address: str | None, kind: str = "accounts") -> Markup:
    """A shortened address linking to its page (``-`` when missing); escaped.

    Args:
        address: a 0x-address (untrusted text).
        kind: ``accounts`` or ``providers``.
    """
    return Markup(_addr_html(address, kind))


def tx(tx_hash: str | None) -> Markup:
    """A shortened transaction hash with the whole one as its title; escaped.

    Args:
        tx_hash: 0x-hex (untrusted text).
    """
    return Markup(_tx_html(tx_hash))


def when(timestamp: int | None) -> Markup:
    """A ``<time>`` element for unix seconds (``-`` when missing).

    Args:
        timestamp: unix seconds.
    """
    return Markup(_when_html(timestamp))


def meter(kind: str | None) -> Markup:
    """A meter kind as a coloured pill (NVML green, others grey); escaped.

    Args:
        kind: ``nvml``, ``simulated``, ...
    """
    style = "nvml" if kind == "nvml" else "sim"
    k = escape(kind or "—")
    return Markup(f'<span class="pill {style}" data-meter="{k}">{k}</span>')


def history_rows(rows: Iterable[HistoryRow]) -> Markup:
    """The rows of an account's history table, as HTML; every text field escaped.

    One Python function rather than a Jinja loop: the table is most of the account page,
    and its fifty rows rendered cell by cell in Jinja (an escape call per cell) cost more
    server time than the page's queries.

    Args:
        rows: the history rows, newest first.
    """
    return Markup("".join(_history_row(r) for r in rows))


def _history_row(r: HistoryRow) -> str:
    kind = _text(r.kind)
    job = f'<a href="/jobs/{int(r.job_id)}">#{int(r.job_id)}</a>' if r.job_id else ""
    return (
        f'<tr data-kind="{kind}"><td>{int(r.block)}</td><td>{_when_html(r.timestamp)}</td>'
        f'<td>{kind}</td><td>{job}</td><td class="num">{_text(r.amount_cpt or "")}</td>'
        f"<td>{_addr_html(r.counterparty, 'accounts')}</td><td>{_tx_html(r.tx_hash)}</td></tr>\n"
    )


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
    env.filters.update(addr=addr, tx=tx, when=when, meter=meter, history_rows=history_rows)
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
