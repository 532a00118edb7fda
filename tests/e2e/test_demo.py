"""`make demo` runs scripts/demo.py: it must finish, check the supply and leave nothing behind."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT
from tests.sdk.test_devnet import port_open


@pytest.mark.parametrize("chain", ["anvil", "embedded"])
def test_demo_runs_end_to_end_and_stops_its_chain(chain: str) -> None:
    done = subprocess.run(
        [sys.executable, "scripts/demo.py", "--chain", chain],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "(held by these accounts: ok)" in done.stdout
    assert re.search(r"client\s+749\.5 CPT", done.stdout)
    url = re.search(r"at (http://\S+),", done.stdout)
    if chain == "anvil":
        assert url is not None
        assert not port_open(url.group(1))
