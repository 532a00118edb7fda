"""What the CLI prints: results on stdout (text, rich tables, or JSON), progress on stderr.

With ``--json`` stdout carries exactly one JSON document per command and nothing else.
Token amounts in JSON are decimal strings in CPT (``"1000.5"``): exact, and safe for
parsers whose numbers are doubles. Times are unix seconds.

Waiting for a transaction shows a spinner with its hash on stderr when stderr is a
terminal; otherwise each sent transaction is one line on stderr, so logs keep the hashes.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import typer
from rich.console import Console
from rich.status import Status
from rich.table import Table
from rich.text import Text

from ..units import format_amount

SYMBOL = "CPT"
PIPE_WIDTH = 160


def cpt(wei: int) -> str:
    """``1500 * 10**18`` -> ``"1,500 CPT"``: exact, with thousands separators."""
    return f"{number(wei)} {SYMBOL}"


def number(wei: int, decimals: int = 18) -> str:
    """Base units as a decimal with thousands separators and no trailing zeros."""
    text = format_amount(abs(wei), decimals)
    whole, _, fraction = text.partition(".")
    grouped = f"{'-' if wei < 0 else ''}{int(whole):,}"
    return f"{grouped}.{fraction}" if fraction else grouped


def plain(wei: int) -> str:
    """Base units as the plain decimal string used in JSON (``"1500.25"``)."""
    return format_amount(wei)


def eth(wei: int) -> str:
    """Ether with up to 6 decimals, for gas balances."""
    return f"{float(wei) / 10**18:,.6f}".rstrip("0").rstrip(".") + " ETH"


def utc(timestamp: int) -> str:
    """A unix time as ``2026-05-01 12:00:00 UTC``."""
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def duration(seconds: int) -> str:
    """``3h 5m``, ``2d 4h``, ``40s``."""
    seconds = max(0, int(seconds))
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s" if secs else f"{minutes}m"
    return f"{secs}s"


def relative(timestamp: int, now: int) -> str:
    """``in 3h 0m`` or ``5m ago``."""
    if timestamp >= now:
        return f"in {duration(timestamp - now)}"
    return f"{duration(now - timestamp)} ago"


def short(address: str) -> str:
    """``0x3C44…93BC``: enough to tell accounts apart in a table."""
    return f"{address[:6]}…{address[-4:]}"


def when(timestamp: int, now: int) -> str:
    """``2026-05-01 12:00:00 UTC (in 3h 0m)`` relative to the chain's `now`."""
    if timestamp > now:
        return f"{utc(timestamp)} (in {duration(timestamp - now)})"
    if timestamp == now:
        return f"{utc(timestamp)} (now)"
    return f"{utc(timestamp)} ({duration(now - timestamp)} ago)"


class Output:
    """The one place a command writes to: results, tables, notes and progress.

    Args:
        json_mode: print results as JSON on stdout (``--json``).
    """

    def __init__(self, *, json_mode: bool) -> None:
        self.json_mode = json_mode
        self.stdout = Console(highlight=False, soft_wrap=True)
        if not self.stdout.is_terminal:
            self.stdout.width = PIPE_WIDTH  # piped or captured: do not fold tables at 80
        self.stderr = Console(stderr=True, highlight=False, soft_wrap=True)
        self.transactions: list[str] = []
        self._label: str | None = None
        self._status: Status | None = None

    # --- results ------------------------------------------------------------------------

    def result(self, data: Mapping[str, Any], lines: Sequence[str] | str = ()) -> None:
        """Print a command's result: `data` as JSON with ``--json``, else the text `lines`.

        Transactions sent by the command are added to the JSON as ``"transactions"``.
        """
        if self.json_mode:
            payload = dict(data)
            if self.transactions and "transactions" not in payload:
                payload["transactions"] = list(self.transactions)
            self.json(payload)
            return
        for line in [lines] if isinstance(lines, str) else lines:
            self.line(line)

    def json(self, data: Any) -> None:
        """Write `data` as one JSON document on stdout."""
        typer.echo(json.dumps(data, indent=2, default=_jsonable))

    def line(self, text: str) -> None:
        """One line of human-readable text on stdout (no markup interpretation)."""
        self.stdout.print(text, markup=False)

    def table(self, table: Table) -> None:
        """A rich table on stdout (human mode only)."""
        self.stdout.print(table)

    def note(self, text: str) -> None:
        """Advice or context on stderr: never mixes into ``--json`` output."""
        self.stderr.print(text, markup=False)

    # --- progress -----------------------------------------------------------------------

    @contextmanager
    def activity(self, label: str) -> Iterator[None]:
        """Show `label` with a spinner on stderr while the block runs (terminals only)."""
        self._label = label
        try:
            if self.stderr.is_terminal:
                with self.stderr.status(Text(f"{label}…"), spinner="dots") as status:
                    self._status = status
                    yield
            else:
                yield
        finally:
            self._label = None
            self._status = None

    def tx_sent(self, tx_hash: str) -> None:
        """Called when a transaction has been sent and its receipt is awaited."""
        self.transactions.append(tx_hash)
        label = self._label or "transaction"
        if self._status is not None:
            self._status.update(Text(f"{label}: waiting for {tx_hash}"))
        else:
            self.stderr.print(f"{label}: sent {tx_hash}", markup=False)


def key_value_table(rows: Sequence[tuple[str, str]], title: str | None = None) -> Table:
    """A two-column table of labelled values."""
    table = Table(title=title, show_header=False, box=None, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    return table


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")
