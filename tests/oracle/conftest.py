"""Fixtures for the oracle tests: a clock tests move by hand, a scriptable fake ``pynvml``
(and, from `fake_devices`, a fake ``amdsmi`` and a fake powercap tree),
keystores, an anvil devnet with the protocol deployed (`AnvilMarket`), and `wait_until` for
waits on another process. The in-memory market is `fake_chain.FakeChain`."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from tenacity import Retrying, retry_if_result, stop_after_delay, wait_exponential

from jouleledger import Devnet, start_devnet
from jouleledger.client import JobRequest, JouleLedger
from jouleledger.deployment import Deployment, ProtocolConfig, deploy_protocol, save_deployment
from jouleledger.units import parse_amount
from jouleledger_oracle.metering import CounterMeter
from jouleledger_oracle.workloads import JobSpec
from tests.conftest import ROOT

from .fake_chain import GPU_CLASS
from .fake_devices import (
    FakeAmdSmi,
    FakeClock,
    FakeGpu,
    FakeNvml,
    NVMLError,
    NVMLError_DriverNotLoaded,
    NVMLError_GpuIsLost,
    NVMLError_LibraryNotFound,
    NVMLError_NotSupported,
    Powercap,
)

__all__ = [  # the fakes, re-exported where the tests have always found them
    "FakeClock",
    "FakeGpu",
    "FakeNvml",
    "NVMLError",
    "NVMLError_DriverNotLoaded",
    "NVMLError_GpuIsLost",
    "NVMLError_LibraryNotFound",
    "NVMLError_NotSupported",
]

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


M = TypeVar("M", bound=CounterMeter)


def on_fake_clock(meter_class: type[M], clock: FakeClock, **options: Any) -> M:
    """A counter meter that reads `clock`, widens by moving it, and samples only when the test
    says (``sample_interval_s=None``); `options` override those settings."""
    settings: dict[str, Any] = {"sample_interval_s": None, "clock": clock, "sleep": clock.sleep}
    return meter_class(**(settings | options))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake_nvml(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> FakeNvml:
    """Replace ``pynvml`` with a fake for the test (the meter imports it lazily)."""
    fake = FakeNvml(clock=clock)
    monkeypatch.setitem(sys.modules, "pynvml", fake.module())
    return fake


@pytest.fixture
def fake_amdsmi(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> FakeAmdSmi:
    """Replace ``amdsmi`` with a fake for the test (the AMD meter imports it lazily)."""
    fake = FakeAmdSmi(clock=clock)
    monkeypatch.setitem(sys.modules, "amdsmi", fake.module())
    return fake


@pytest.fixture
def powercap(tmp_path: Path) -> Powercap:
    """A fake RAPL powercap tree with one package (package, core and dram zones) and psys."""
    return Powercap(tmp_path / "powercap")


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
