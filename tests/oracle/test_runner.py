"""Job specs, the built-in workloads and run_job."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import pytest
from eth_abi.abi import encode
from eth_utils.crypto import keccak
from pydantic import BaseModel

from jouleledger.transport.processes import process_alive
from jouleledger_oracle.errors import (
    InvalidJobSpec,
    WorkloadError,
    WorkloadLimitExceeded,
    WorkloadTimeout,
)
from jouleledger_oracle.metering import SimulatedMeter
from jouleledger_oracle.workloads import (
    WORKLOADS,
    JobSpec,
    Shell,
    ShellInputs,
    Workload,
    WorkloadContext,
    WorkloadOutput,
    result_hash,
    run_job,
)

from .conftest import FakeClock, wait_until

PY = sys.executable


def generate(**inputs: object) -> tuple[int, ...]:
    spec = {"workload": "token-generation", "inputs": {"device": "cpu", **inputs}}
    result = run_job(spec, SimulatedMeter(), job_id=1)
    assert result.token_ids is not None
    return result.token_ids


def shell(command: list[str], **limits: object) -> WorkloadOutput:
    return Shell().run(
        ShellInputs.model_validate({"command": command, **limits}), WorkloadContext()
    )


# --- token generation ----------------------------------------------------------------------


def test_token_generation_produces_max_new_tokens() -> None:
    spec = {"workload": "token-generation", "inputs": {"prompt_tokens": 8, "max_new_tokens": 40}}
    result = run_job(spec, SimulatedMeter(), job_id=3)

    assert result.ai_tokens == 40
    assert result.token_ids is not None and len(result.token_ids) == 40
    assert result.output == b"".join(t.to_bytes(4, "big") for t in result.token_ids)
    assert all(0 <= t < 256 for t in result.token_ids)
    assert result.backend in ("numpy-cpu", "torch-cuda:0")
    assert result.reading.job_id == 3


def test_token_generation_is_deterministic_for_a_seed() -> None:
    assert generate(seed=4) == generate(seed=4)


def test_token_generation_depends_on_the_seed_and_the_model() -> None:
    baseline = generate(seed=4)

    assert generate(seed=5) != baseline
    assert generate(seed=4, n_layers=3) != baseline


def test_cpu_default_job_takes_well_under_a_second() -> None:
    started = time.perf_counter()
    generate()
    assert time.perf_counter() - started < 0.5


def test_result_hash_commits_to_the_output() -> None:
    result = run_job(
        {"workload": "token-generation", "inputs": {"seed": 1}}, SimulatedMeter(), job_id=1
    )
    changed = bytes([result.output[0] ^ 1]) + result.output[1:]

    expected = "0x" + keccak(encode(["string", "bytes"], ["token-generation", result.output])).hex()
    assert result.result_hash == expected
    assert result_hash("token-generation", changed) != result.result_hash
    assert result_hash("shell", result.output) != result.result_hash


def test_result_hash_changes_when_the_output_changes() -> None:
    meter = SimulatedMeter()
    first = run_job({"workload": "token-generation", "inputs": {"seed": 1}}, meter, job_id=1)
    second = run_job({"workload": "token-generation", "inputs": {"seed": 2}}, meter, job_id=2)

    assert first.output != second.output
    assert first.result_hash != second.result_hash


def test_cuda_without_a_usable_gpu_is_a_workload_error() -> None:
    try:
        import torch  # type: ignore[import-not-found,unused-ignore]

        if torch.cuda.is_available():
            pytest.skip("this machine has CUDA")
    except ImportError:
        pass
    with pytest.raises(WorkloadError, match="device=cuda"):
        generate(device="cuda")


# --- shell ----------------------------------------------------------------------------------


def test_shell_work_units_are_the_bytes_of_stdout() -> None:
    produced = shell([PY, "-c", "print('x' * 99)"])

    assert produced.output == b"x" * 99 + b"\n"
    assert produced.work_units == 100
    assert produced.token_ids is None


def test_shell_job_commits_to_its_stdout() -> None:
    spec = {"workload": "shell", "inputs": {"command": [PY, "-c", "print('hello')"]}}

    result = run_job(spec, SimulatedMeter(), job_id=4)

    assert result.output == b"hello\n"
    assert result.ai_tokens == 6
    assert result.result_hash == result_hash("shell", b"hello\n")
    assert result.backend == "subprocess"


def test_shell_can_report_its_own_work_units_on_stderr() -> None:
    code = "import sys; print('answer'); print('work_units=1234', file=sys.stderr)"

    produced = shell([PY, "-c", code], work_units="reported")

    assert produced.work_units == 1234
    assert produced.output == b"answer\n"


def test_shell_that_reports_no_work_units_fails() -> None:
    with pytest.raises(WorkloadError, match="work_units=<n>"):
        shell([PY, "-c", "print(1)"], work_units="reported")


@pytest.fixture(params=["pidfd", "polling"])
def exit_wait(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """How the sandbox waits for the command: a pidfd, or polling where there is none (old
    kernels, macOS); both leave the child unreaped until its process group is killed."""
    if request.param == "polling":
        monkeypatch.delattr(os, "pidfd_open", raising=False)
    return str(request.param)


@pytest.mark.usefixtures("exit_wait")
def test_shell_timeout_kills_the_command_and_everything_it_started(tmp_path: Path) -> None:
    pid_file = tmp_path / "background.pid"
    script = f"sleep 60 & echo $! > {pid_file}; wait"

    with pytest.raises(WorkloadTimeout, match=r"0\.5 s limit"):
        shell(["sh", "-c", script], timeout_s=0.5)

    background = int(pid_file.read_text())
    # init reaps the killed orphan on its own schedule
    wait_until(lambda: not process_alive(background), 5, "the background sleep to be killed")


@pytest.mark.usefixtures("exit_wait")
def test_shell_leaves_nothing_running_after_a_normal_exit(tmp_path: Path) -> None:
    pid_file = tmp_path / "background.pid"

    shell(["sh", "-c", f"sleep 60 & echo $! > {pid_file}"])

    background = int(pid_file.read_text())
    wait_until(lambda: not process_alive(background), 5, "the background sleep to be killed")


def test_shell_memory_limit_is_a_clear_error() -> None:
    with pytest.raises(WorkloadLimitExceeded, match="out of memory under its 128 MB limit"):
        shell([PY, "-c", "block = bytearray(1024 * 1024 * 1024)"], memory_mb=128)


def test_shell_output_limit_is_a_clear_error() -> None:
    with pytest.raises(WorkloadLimitExceeded, match="max_output_bytes=1000"):
        shell([PY, "-c", "import sys; sys.stdout.write('y' * 5000)"], max_output_bytes=1000)


def test_shell_non_zero_exit_shows_the_status_and_stderr() -> None:
    code = "import sys; print('broken pipeline', file=sys.stderr); sys.exit(3)"

    with pytest.raises(WorkloadError, match=r"status 3: broken pipeline"):
        shell([PY, "-c", code])


def test_shell_command_that_does_not_exist_is_a_workload_error() -> None:
    with pytest.raises(WorkloadError, match="could not start"):
        shell(["/nonexistent/jouleledger-binary"])


def test_shell_takes_an_argument_list_not_a_shell_string() -> None:
    produced = shell(["echo", "$HOME; rm -rf /"])

    assert produced.output == b"$HOME; rm -rf /\n"


# --- specs and run_job ----------------------------------------------------------------------


class _Spy(SimulatedMeter):
    starts = 0

    def start(self, job_id: int, **device: Any):  # type: ignore[no-untyped-def]
        type(self).starts += 1
        return super().start(job_id, **device)


def test_unknown_workload_lists_the_known_workloads() -> None:
    with pytest.raises(InvalidJobSpec) as raised:
        run_job({"workload": "token-generaton"}, SimulatedMeter(), job_id=1)

    message = str(raised.value)
    assert "did you mean 'token-generation'?" in message
    assert "shell (" in message and "token-generation (" in message


def test_malformed_inputs_are_refused_before_the_meter_starts() -> None:
    _Spy.starts = 0
    spec = {"workload": "token-generation", "inputs": {"max_new_tokens": -1, "colour": "red"}}

    with pytest.raises(InvalidJobSpec) as raised:
        run_job(spec, _Spy(), job_id=1)

    message = str(raised.value)
    assert "max_new_tokens" in message and "colour" in message
    assert "Known workloads: shell" in message
    assert _Spy.starts == 0
    assert isinstance(raised.value, ValueError)


def test_malformed_spec_shape_is_refused() -> None:
    with pytest.raises(InvalidJobSpec, match="known workloads"):
        run_job({"inputs": {}}, SimulatedMeter(), job_id=1)


def test_spec_hash_ignores_key_order() -> None:
    a = JobSpec.model_validate({"workload": "shell", "inputs": {"command": ["ls"], "timeout_s": 1}})
    b = JobSpec.model_validate({"inputs": {"timeout_s": 1, "command": ["ls"]}, "workload": "shell"})

    assert a.spec_hash() == b.spec_hash()
    assert a.spec_hash() != JobSpec(workload="shell", inputs={"command": ["ls"]}).spec_hash()


class _Sleepy(BaseModel):
    seconds: float


class _ClockWorkload(Workload[_Sleepy]):
    """Moves the fake clock, so the reading shows the work happened inside the window."""

    name: ClassVar[str] = "clock"
    summary: ClassVar[str] = "advances a fake clock"
    inputs_model = _Sleepy
    clock = FakeClock()

    def run(self, inputs: _Sleepy, context: WorkloadContext) -> WorkloadOutput:
        if inputs.seconds < 0:
            raise WorkloadError("negative work")
        self.clock.advance(inputs.seconds)
        return WorkloadOutput(work_units=7, output=b"done", backend="test")


def test_run_job_measures_the_workload_inside_the_meter_window() -> None:
    workload = _ClockWorkload()
    meter = SimulatedMeter(clock=workload.clock)

    result = run_job(
        {"workload": "clock", "inputs": {"seconds": 2.5}},
        meter,
        job_id=12,
        workloads={"clock": workload},
    )

    assert result.reading.gpu_millis == 2500
    assert result.ai_tokens == 7
    assert result.result_hash == result_hash("clock", b"done")
    assert result.spec_hash == JobSpec(workload="clock", inputs={"seconds": 2.5}).spec_hash()


def test_a_failed_workload_frees_the_gpu_for_the_next_job() -> None:
    workload = _ClockWorkload()
    meter = SimulatedMeter(clock=workload.clock)
    workloads = {"clock": workload}

    with pytest.raises(WorkloadError, match="negative work"):
        run_job(
            {"workload": "clock", "inputs": {"seconds": -1}}, meter, job_id=1, workloads=workloads
        )

    run_job({"workload": "clock", "inputs": {"seconds": 1}}, meter, job_id=2, workloads=workloads)


def test_built_in_workloads_are_registered() -> None:
    assert sorted(WORKLOADS) == ["shell", "token-generation"]


def test_package_imports_without_pynvml_and_without_loading_torch() -> None:
    code = (
        "import sys; sys.modules['pynvml'] = None; "
        "import jouleledger_oracle.metering, jouleledger_oracle.workloads; "
        "import jouleledger_oracle.store; "
        "assert 'torch' not in sys.modules; print('ok')"
    )
    done = subprocess.run(
        [PY, "-c", code], capture_output=True, text=True, timeout=60, env=os.environ
    )

    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
