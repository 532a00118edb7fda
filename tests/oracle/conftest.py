"""Fixtures for the oracle tests: a clock tests move by hand, a scriptable fake ``pynvml``,
keystores, an anvil devnet with the protocol deployed (`AnvilMarket`), and `wait_until` for
waits on another process. The in-memory market is `fake_chain.FakeChain`."""

from __future__ import annotations

import json
import math
import sys
import threading
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_exponential

from jouleledger import Devnet, start_devnet
from jouleledger.client import JobRequest, JouleLedger
from jouleledger.deployment import Deployment, ProtocolConfig, deploy_protocol, save_deployment
from jouleledger.units import parse_amount
from jouleledger_oracle.workloads import JobSpec
from tests.conftest import ROOT

from .fake_chain import GPU_CLASS

PASSWORD = "correct horse battery staple"
PRICE = parse_amount("0.001")  # per GPU-second
MAX_PAYMENT = parse_amount("5")
SMALL_SPEC = JobSpec(
    workload="token-generation",
    inputs={"prompt_tokens": 4, "max_new_tokens": 8, "d_model": 16, "n_heads": 2, "device": "cpu"},
)


def write_keystore(path: Path, key: bytes, password: str = PASSWORD) -> Path:
    """An eth-account keystore with a cheap KDF (tests decrypt it often)."""
    path.write_text(json.dumps(Account.encrypt(key, password, kdf="pbkdf2", iterations=16)))
    return path


def wait_until(
    predicate: Callable[[], bool], timeout: float, what: str | Callable[[], str]
) -> None:
    """Poll `predicate` until it holds: only for waits on another process (nothing to await).

    Args:
        predicate: the condition; it may raise to give up early (the process died).
        timeout: seconds.
        what: for the message, or a function giving it (evaluated on failure).

    Raises:
        AssertionError: `predicate` did not hold within `timeout`.
    """

    def timed_out(_: object) -> bool:
        text = what() if callable(what) else what
        raise AssertionError(f"timed out after {timeout:g} s waiting for {text}")

    Retrying(
        retry=retry_if_result(lambda held: not held),
        wait=wait_exponential(multiplier=0.005, max=0.05),
        stop=stop_after_delay(timeout),
        retry_error_callback=timed_out,
    )(predicate)


class FakeClock:
    """Unix time that only moves when a test (or the code under test, through `sleep`) says."""

    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


class NVMLError(Exception):
    """Base of the fake's errors, shaped like pynvml's."""


class NVMLError_LibraryNotFound(NVMLError):  # named as pynvml names them
    pass


class NVMLError_DriverNotLoaded(NVMLError):
    pass


class NVMLError_NotSupported(NVMLError):
    pass


class NVMLError_GpuIsLost(NVMLError):
    pass


@dataclass
class FakeGpu:
    uuid: str = "GPU-6b1d54c4-7f3a-4a2e-9d1b-2c8e0f3a9b71"
    name: str = "NVIDIA H100 80GB HBM3"
    power_mw: int = 300_000
    utilisation: tuple[int, int] = (97, 41)
    counter_base_mj: int = 5_000_000_000
    counter: Callable[[float], int] | None = None
    """Energy counter as a function of clock time; default: power x time, 100 ms steps."""


@dataclass
class FakeNvml:
    """State behind the fake ``pynvml`` module; tests edit it to script the GPU."""

    clock: FakeClock
    gpus: list[FakeGpu] = field(default_factory=lambda: [FakeGpu()])
    init_error: type[NVMLError] | None = None
    driver_version: str = "550.54.15"
    power_reads: int = 0
    power_read_event: threading.Event = field(default_factory=threading.Event)
    wake_after_power_reads: int = 3
    shutdowns: int = 0

    def energy(self, gpu: FakeGpu) -> int:
        t = self.clock()
        if gpu.counter is not None:
            return gpu.counter(t)
        ticks = math.floor(t * 10 + 1e-6)  # the real counter moves about every 100 ms
        return gpu.counter_base_mj + ticks * (gpu.power_mw // 10)

    def module(self) -> types.ModuleType:
        module = types.ModuleType("pynvml")
        errors = {
            cls.__name__: cls
            for cls in (
                NVMLError,
                NVMLError_LibraryNotFound,
                NVMLError_DriverNotLoaded,
                NVMLError_NotSupported,
                NVMLError_GpuIsLost,
            )
        }
        vars(module).update(errors)

        def init() -> None:
            if self.init_error is not None:
                raise self.init_error()

        def power(handle: FakeGpu) -> int:
            self.power_reads += 1
            if self.power_reads >= self.wake_after_power_reads:
                self.power_read_event.set()
            return handle.power_mw

        def shutdown() -> None:
            self.shutdowns += 1

        vars(module).update(
            nvmlInit=init,
            nvmlShutdown=shutdown,
            nvmlSystemGetDriverVersion=lambda: self.driver_version,
            nvmlDeviceGetCount=lambda: len(self.gpus),
            nvmlDeviceGetHandleByIndex=lambda index: self.gpus[index],
            nvmlDeviceGetUUID=lambda handle: handle.uuid,
            nvmlDeviceGetName=lambda handle: handle.name.encode(),  # old pynvml: bytes
            nvmlDeviceGetTotalEnergyConsumption=self.energy,
            nvmlDeviceGetPowerUsage=power,
            nvmlDeviceGetUtilizationRates=lambda handle: types.SimpleNamespace(
                gpu=handle.utilisation[0], memory=handle.utilisation[1]
            ),
        )
        return module


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_nvml(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> FakeNvml:
    """Replace ``pynvml`` with a fake for the test (the meter imports it lazily)."""
    fake = FakeNvml(clock=clock)
    monkeypatch.setitem(sys.modules, "pynvml", fake.module())
    return fake


# --- on anvil ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def anvil() -> Iterator[Devnet]:
    """An anvil devnet with four funded accounts, shared by a test module."""
    with start_devnet("anvil", search_from=ROOT, accounts=4) as net:
        yield net


@dataclass
class AnvilMarket:
    """The protocol deployed on a devnet, with a funded client and a registered provider."""

    devnet: Devnet
    deployment: Deployment
    admin: JouleLedger
    client: JouleLedger
    provider: JouleLedger
    oracle: LocalAccount

    @classmethod
    def deploy(cls, devnet: Devnet, *, dispute_window: int = 60) -> AnvilMarket:
        admin_account, provider_account, client_account = devnet.accounts[:3]
        config = ProtocolConfig(
            dispute_window=dispute_window,
            arbiter_timeout=dispute_window,
            unbonding_delay=3 * dispute_window,
        )
        deployment = deploy_protocol(devnet.w3, admin_account, config)
        admin = JouleLedger(devnet.w3, deployment, admin_account)
        for who in (provider_account, client_account):
            admin.transfer(who.address, parse_amount("100000"))
        oracle = Account.create()
        provider = admin.as_account(provider_account)
        provider.stake(parse_amount("10000"))
        provider.register_provider(oracle, GPU_CLASS, parse_amount("0.0001"), "http://node")
        return cls(devnet, deployment, admin, admin.as_account(client_account), provider, oracle)

    def save(self, path: Path) -> Path:
        save_deployment(path, self.deployment)
        return path

    def post(self, bid: str, spec: JobSpec | None = None, **extra: Any) -> int:
        spec_hash = bytes.fromhex(spec.spec_hash()[2:]) if spec is not None else b"\0" * 32
        request = JobRequest(
            GPU_CLASS,
            PRICE,
            MAX_PAYMENT,
            bid=parse_amount(bid),
            spec_hash=spec_hash,
            **extra,
        )
        return int(self.client.post_job(request, use_permit=False))
