"""The README runs as written: its shell and Python blocks, in order, from a folder that is
not the repository, with a fresh ``$JL_HOME``, as a user who activated the clone's
environment would type them. So the README cannot drift from the code.

How the README marks what must not run, runs in the background or must print something:
see `tests.readme.tour` (``<!-- tour: skip (why) -->``, ``<!-- tour: background until
CONDITION -->``, ``<!-- tour: expect REGEX -->``; fences other than sh/bash/python are not
commands). The commands are never rewritten: where the README's fixed ports could clash
with something else on the machine, the test sets the variables the tools honour instead
(``JL_ORACLE_PORT``, ``JL_DASHBOARD_PORT``).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from jouleledger.transport import free_port
from tests.conftest import ROOT

from .tour import Tour, TourError, parse

README = ROOT / "README.md"
BIN = Path(sys.executable).parent  # the environment `source .venv/bin/activate` puts on PATH
TIMEOUT = 90.0


def activated_env(home: Path) -> dict[str, str]:
    """A shell after ``source .venv/bin/activate``: none of the developer's own ``JL_*``
    settings, the given ``$JL_HOME``, and free ports for the node's and dashboard's APIs."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("JL_")}
    oracle_port = free_port()
    dashboard_port = free_port()
    while dashboard_port == oracle_port:
        dashboard_port = free_port()
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        VIRTUAL_ENV=str(BIN.parent),
        JL_HOME=str(home),
        JL_ORACLE_PORT=str(oracle_port),
        JL_DASHBOARD_PORT=str(dashboard_port),
        COLUMNS="160",  # rich's tables, wide enough not to wrap what `expect` reads
        PYTHONUNBUFFERED="1",
    )
    return env


def test_the_readme_tour_runs_as_written(tmp_path: Path) -> None:
    blocks = parse(README.read_text())
    assert any(b.until for b in blocks) and sum(len(b.expect) for b in blocks) >= 6
    folder = tmp_path / "work"
    folder.mkdir()
    scratch = tmp_path / "runner"
    scratch.mkdir()
    tour = Tour(folder, scratch, activated_env(tmp_path / "home"), sys.executable, TIMEOUT)
    try:
        for block in blocks:
            tour.run(block)
    finally:
        tour.stop()
        # The devnet outlives `jl`: stop it even when the tour failed before its last block.
        subprocess.run([str(BIN / "jl"), "devnet", "down"], env=tour.env, cwd=folder,
                       capture_output=True, timeout=60, check=False)  # fmt: skip


# --- the conventions, and that the runner fails when a block does --------------------------

SAMPLE = """
Some prose.

<!-- tour: expect ^hello$ -->
```sh
echo hello
```

```text
$ not a command
```

<!-- tour: skip (needs a GPU) -->

```python
print("never")
```

<!-- tour: background until true -->
```bash
sleep 30
```
"""


def test_markers_attach_to_the_next_command_block_and_other_fences_are_ignored() -> None:
    shell, python, background = parse(SAMPLE)
    assert (shell.kind, shell.code, shell.line) == ("shell", "echo hello\n", 5)
    assert [p.pattern for p in shell.expect] == ["^hello$"] and shell.skip is None
    assert python.kind == "python" and python.skip == "needs a GPU"
    assert background.until == "true" and background.kind == "shell"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("<!-- tour: run twice -->\n```sh\ntrue\n```\n", "unknown tour marker"),
        ("<!-- tour: skip -->\n```sh\ntrue\n```\n", "unknown tour marker"),
        ("<!-- tour: skip (why) -->\n```text\nx\n```\n", "before a non-command block"),
        ("<!-- tour: skip (why) -->\nprose\n```sh\ntrue\n```\n", "not right before a block"),
        ("```sh\ntrue\n```\n<!-- tour: expect x -->\n", "after the last block"),
        ("<!-- tour: expect ( -->\n```sh\ntrue\n```\n", "bad expect pattern"),
        ("<!-- tour: background until true -->\n```python\nx\n```\n", "only a shell block"),
    ],
)
def test_a_marker_that_says_nothing_runnable_is_an_error(text: str, problem: str) -> None:
    with pytest.raises(TourError, match=problem):
        parse(text)


@pytest.fixture
def tour(tmp_path: Path) -> Tour:
    return Tour(tmp_path, tmp_path, activated_env(tmp_path / "home"), sys.executable, 10.0)


def test_exports_carry_to_later_blocks_and_expectations_are_checked(tour: Tour) -> None:
    first, second, third = parse(
        "```sh\nexport GREETING=hello\n```\n"
        "<!-- tour: expect ^hello$ -->\n```sh\necho $GREETING\n```\n"
        "<!-- tour: expect ^bye$ -->\n```sh\necho $GREETING\n```\n"
    )
    tour.run(first)
    assert tour.run(second) == "hello\n"
    with pytest.raises(TourError, match=r"no match for '\^bye\$'"):
        tour.run(third)


def test_a_failing_command_fails_the_tour_with_its_output(tour: Tour) -> None:
    (block,) = parse("```sh\necho before\nfalse\necho after\n```\n")
    with pytest.raises(TourError, match=r"(?s)exit status 1.*before") as failure:
        tour.run(block)
    assert "after" not in str(failure.value).split("--- stdout")[1]


def test_a_background_block_that_dies_before_it_is_ready_fails_with_its_output(
    tour: Tour,
) -> None:
    (block,) = parse("<!-- tour: background until false -->\n```sh\necho dying; exit 3\n```\n")
    try:
        with pytest.raises(TourError, match=r"(?s)exited \(3\) before it was ready.*dying"):
            tour.run(block)
    finally:
        tour.stop()
