"""Parsing what visitors type: addresses, job ids, hashes, times and the search box."""

from __future__ import annotations

import pytest

from jouleledger_dashboard import inputs
from jouleledger_dashboard.errors import BadInput
from jouleledger_dashboard.models import HistoryRow
from jouleledger_dashboard.web import duration, history_rows

ADDRESS = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"


def test_search_tells_addresses_job_ids_and_hashes_apart() -> None:
    assert inputs.search(ADDRESS.lower()) == inputs.SearchTarget("account", ADDRESS)
    assert inputs.search(" #42 ") == inputs.SearchTarget("job", "42")
    assert inputs.search("0x" + "AB" * 32) == inputs.SearchTarget("tx", "0x" + "ab" * 32)


@pytest.mark.parametrize(
    "text", ["", "0x", "1; DROP TABLE jobs", "0x" + "g" * 40, "-1", "1.5", "9" * 81]
)
def test_search_refuses_anything_else_with_what_to_type(text: str) -> None:
    with pytest.raises(BadInput, match="search for an address"):
        inputs.search(text)


def test_job_ids_stop_at_uint256() -> None:
    assert inputs.job_id(str(2**256 - 1)) == 2**256 - 1
    with pytest.raises(BadInput, match="out of range"):
        inputs.job_id(str(2**256))


def test_times_take_unix_seconds_or_iso_dates_in_utc() -> None:
    assert inputs.timestamp("1700000000", "since") == 1_700_000_000
    assert inputs.timestamp("2026-12-07", "since") == 1_796_601_600
    assert inputs.timestamp(" ", "since") is None
    with pytest.raises(BadInput, match="until="):
        inputs.timestamp("tomorrow", "until")


def test_long_bad_values_are_cut_in_messages() -> None:
    with pytest.raises(BadInput) as caught:
        inputs.address("x" * 5000)
    assert len(str(caught.value)) < 200


def test_durations_show_the_two_largest_units() -> None:
    assert duration(0) == "0 s"
    assert duration(3 * 86400 + 4 * 3600 + 5) == "3 d 4 h"
    assert duration(725) == "12 min 5 s"


def test_history_rows_escape_every_text_field() -> None:
    hostile = '"><script>window.__xss = 1</script>'
    row = HistoryRow(block=7, timestamp=1_796_601_600, tx_hash=hostile, log_index=0,
                     kind=hostile, job_id=3, amount_cpt=hostile, counterparty=hostile)  # fmt: skip
    html = str(history_rows([row]))
    assert "<script" not in html
    assert html.count('"') == 2 * 9  # the row's nine attributes: no quote from the values
    assert html.count("&quot;&gt;&lt;script&gt;window.__xss = 1&lt;/script&gt;") == 6
    assert html.startswith('<tr data-kind="&quot;&gt;&lt;script&gt;')
    assert '<a href="/jobs/3">#3</a>' in html and "2026-12-07 00:00:00 UTC" in html
