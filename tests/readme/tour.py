"""The README's code blocks, read as a tour and run as a user would type them.

Conventions the README follows (`test_readme_tour` checks them):

- A fenced block whose language is ``sh``, ``bash`` or ``shell`` is a shell block; ``python``
  a Python block. Any other fence (``text``, none: diagrams, output samples) is not a
  command and is ignored.
- HTML comments right before a block (only blank lines in between) say how to run it:

  ``<!-- tour: skip (why) -->``
      not run (it needs hardware, runs the whole suite, ...); the reason is required.
  ``<!-- tour: background until CONDITION -->``
      a long-running command (a node, a server): started in its own process group, and
      the tour goes on once the shell command CONDITION exits 0 (polled, with a deadline);
      stopped at the end of the tour.
  ``<!-- tour: expect REGEX -->``
      the block's standard output must match REGEX (`re.search`, multiline); several may
      stand before one block.

  A marker that names nothing else, or that stands before no command block, is an error,
  so a marker cannot rot silently.
- Blocks run in order, in one folder, with one environment: what a shell block exports is
  seen by the blocks after it, as in the one shell a user types them into.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from tenacity import Retrying, retry_if_result, stop_after_delay, wait_exponential

from jouleledger.transport import log_tail, stop_process_group

Kind = Literal["shell", "python"]
LANGUAGES: dict[str, Kind] = {"sh": "shell", "bash": "shell", "shell": "shell", "python": "python"}
FENCE = re.compile(r"^```\s*([\w+-]*)\s*$")
MARKER = re.compile(r"^<!--\s*tour:\s*(.*?)\s*-->$")
SKIP = re.compile(r"^skip \((.+)\)$")
BACKGROUND = re.compile(r"^background until (.+)$")
EXPECT = re.compile(r"^expect (.+)$")


class TourError(AssertionError):
    """The README breaks the conventions, or one of its blocks failed."""


@dataclass
class Block:
    """One command block of the README and how the tour runs it.

    Attributes:
        kind: shell or python.
        code: its text, as written.
        line: the README line of its opening fence.
        skip: why it is not run; None: it runs.
        until: for a background block, the shell condition that says it is ready.
        expect: patterns its standard output must match.
    """

    kind: Kind
    code: str
    line: int
    skip: str | None = None
    until: str | None = None
    expect: list[re.Pattern[str]] = field(default_factory=list)

    @property
    def where(self) -> str:
        return f"README.md:{self.line}"


def parse(text: str) -> list[Block]:
    """The command blocks of `text`, with their markers.

    Raises:
        TourError: a marker is malformed, or stands before no command block.
    """
    blocks: list[Block] = []
    pending: list[tuple[int, str]] = []
    lines = text.splitlines()
    number = 0
    while number < len(lines):
        line = lines[number].strip()
        number += 1
        marker = MARKER.match(line)
        fence = FENCE.match(line)
        if marker:
            pending.append((number, marker.group(1)))
        elif fence:
            body: list[str] = []
            while number < len(lines) and lines[number].strip() != "```":
                body.append(lines[number])
                number += 1
            number += 1
            kind = LANGUAGES.get(fence.group(1).lower())
            if kind is not None:
                blocks.append(_block(kind, "\n".join(body) + "\n", number - len(body) - 1, pending))
            elif pending:
                raise TourError(
                    f"README.md:{pending[0][0]}: a tour marker before a non-command block"
                )
            pending = []
        elif line and pending:
            raise TourError(f"README.md:{pending[0][0]}: a tour marker not right before a block")
    if pending:
        raise TourError(f"README.md:{pending[0][0]}: a tour marker after the last block")
    return blocks


def _block(kind: Kind, code: str, line: int, markers: list[tuple[int, str]]) -> Block:
    block = Block(kind, code, line)
    for at, text in markers:
        if skip := SKIP.match(text):
            block.skip = skip.group(1)
        elif until := BACKGROUND.match(text):
            block.until = until.group(1)
        elif expect := EXPECT.match(text):
            try:
                block.expect.append(re.compile(expect.group(1), re.MULTILINE))
            except re.error as exc:
                raise TourError(f"README.md:{at}: bad expect pattern: {exc}") from None
        else:
            raise TourError(f"README.md:{at}: unknown tour marker {text!r}")
    roles = [block.skip is not None, block.until is not None, bool(block.expect)]
    if sum(roles) > 1:
        raise TourError(f"{block.where}: skip, background and expect do not combine")
    if block.until and kind != "shell":
        raise TourError(f"{block.where}: only a shell block runs in the background")
    return block


class Tour:
    """Runs blocks in one folder with one environment, like one shell session.

    Args:
        folder: the working folder (not the repository).
        scratch: where the runner keeps its own files (scripts, logs): not in `folder`, which
            holds only what the README's commands write.
        env: the environment the first block sees.
        python: the interpreter of Python blocks.
        timeout: seconds a foreground block, or a background block's readiness, may take.
    """

    def __init__(
        self, folder: Path, scratch: Path, env: dict[str, str], python: str, timeout: float
    ) -> None:
        self.folder = folder
        self.scratch = scratch
        self.env = env
        self.python = python
        self.timeout = timeout
        self.background: list[tuple[Block, subprocess.Popen[bytes], Path]] = []
        self._count = 0

    def run(self, block: Block) -> str:
        """Run `block` (skipped, in the background, or to its end); its standard output.

        Raises:
            TourError: it failed, its output misses an expected pattern, or a background
                block never became ready.
        """
        if block.skip is not None:
            return ""
        self._count += 1
        if block.until is not None:
            self._start(block)
            return ""
        out = self._foreground(block)
        for pattern in block.expect:
            if not pattern.search(out):
                raise TourError(f"{block.where}: no match for {pattern.pattern!r} in:\n{out}")
        return out

    def stop(self) -> None:
        """Stop every background block's process group (SIGTERM, then SIGKILL)."""
        while self.background:
            _, process, _ = self.background.pop()
            stop_process_group(process.pid, 10.0)
            process.wait()

    def _foreground(self, block: Block) -> str:
        saved = self.scratch / f"block-{self._count}"
        if block.kind == "python":
            script = saved.with_suffix(".py")
            script.write_text(block.code)
            command = [self.python, str(script)]
        else:  # the exports it leaves are the next block's environment
            command = ["bash", "-euo", "pipefail", "-c", f'{block.code}\nenv -0 > "{saved}.env"']
        try:
            done = subprocess.run(
                command, cwd=self.folder, env=self.env, capture_output=True, text=True,
                timeout=self.timeout,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            raise TourError(f"{block.where}: still running after {self.timeout:g} s:\n"
                            f"{block.code}\n{exc.stdout}\n{exc.stderr}") from None  # fmt: skip
        if done.returncode != 0:
            raise TourError(
                f"{block.where}: exit status {done.returncode}:\n{block.code}\n"
                f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
            )
        if block.kind == "shell":
            self.env = _read_env(Path(f"{saved}.env"))
        return done.stdout

    def _start(self, block: Block) -> None:
        log = self.scratch / f"block-{self._count}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                ["bash", "-euo", "pipefail", "-c", block.code], cwd=self.folder, env=self.env,
                stdin=subprocess.DEVNULL, stdout=sink, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.background.append((block, process, log))
        assert block.until is not None

        def ready() -> bool:
            if process.poll() is not None:
                raise TourError(
                    f"{block.where}: exited ({process.returncode}) before it was ready:\n"
                    f"{block.code}\n{log_tail(log, 40)}"
                )
            check = subprocess.run(
                ["bash", "-o", "pipefail", "-c", block.until or "false"], cwd=self.folder,
                env=self.env, capture_output=True, timeout=self.timeout,
            )  # fmt: skip
            return check.returncode == 0

        def timed_out(_: object) -> bool:
            raise TourError(
                f"{block.where}: not ready after {self.timeout:g} s ({block.until}):\n"
                f"{block.code}\n{log_tail(log, 40)}"
            )

        Retrying(
            retry=retry_if_result(lambda held: not held),
            wait=wait_exponential(multiplier=0.05, max=0.5),
            stop=stop_after_delay(self.timeout),
            retry_error_callback=timed_out,
        )(ready)


def _read_env(path: Path) -> dict[str, str]:
    """The environment `env -0` wrote (bash's own bookkeeping variables left out)."""
    env = {}
    for entry in path.read_bytes().split(b"\0"):
        name, _, value = entry.decode().partition("=")
        if name and name not in {"_", "SHLVL", "PWD", "OLDPWD"}:
            env[name] = value
    return env


__all__ = ["Block", "Tour", "TourError", "parse"]
