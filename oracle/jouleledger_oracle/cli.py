"""``jl-oracle``: run the oracle node (``serve``) or look at what its meter sees (``meter``).

Exit codes: 0 success; 1 the node or the meter failed at run time (chain unreachable, GPU
lost); 2 bad configuration (wrong password, provider not registered, bad option). Errors are
one line on stderr; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import getpass
import json
import logging
import os
import sys
import time
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, cast

import typer
from eth_account import Account
from rich.console import Console
from rich.table import Table

from jouleledger.errors import JouleLedgerError

from . import __version__
from .errors import ConfigError, NoGpuProfile, OracleError
from .meter import Meter, MeterChoice, MeterSession, Reading, select_meter
from .signer import KeystoreError, decrypt_keystore, read_password

PROVIDER_PASSWORD_ENV = "JL_PROVIDER_PASSWORD"
API_TOKEN_ENV = "JL_ORACLE_API_TOKEN"

app = typer.Typer(
    name="jl-oracle",
    help="The JouleLedger provider oracle node: meter GPU jobs, sign usage records, settle them.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
err = Console(stderr=True)
out = Console()
logger = logging.getLogger("jouleledger_oracle.cli")


class MeterOption(StrEnum):
    auto = "auto"
    nvml = "nvml"
    simulated = "simulated"


class _State:
    debug = False


def _fail(exc: BaseException, code: int) -> NoReturn:
    if _State.debug:
        raise exc
    message = " ".join(str(exc).split()) or type(exc).__name__
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


def _config_error(exc: BaseException) -> bool:
    """Bad configuration (exit 2) rather than a failure at run time (exit 1)."""
    from jouleledger.deployment import DeploymentNotFound
    from jouleledger.errors import WrongChain

    return isinstance(exc, ConfigError | KeystoreError | WrongChain | DeploymentNotFound) or (
        isinstance(exc, ValueError) and not isinstance(exc, JouleLedgerError | OracleError)
    )


def _prompt() -> Any:
    return getpass.getpass if sys.stdin.isatty() else None


def _setup_logging(level: str) -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks.")] = False,
) -> None:
    _State.debug = debug


@app.command()
def serve(
    rpc: Annotated[str, typer.Option("--rpc", help="Ethereum JSON-RPC URL.")],
    keystore: Annotated[
        Path,
        typer.Option(
            "--keystore",
            help="The oracle key's keystore (eth-account JSON). Password: $JL_ORACLE_PASSWORD "
            "or a prompt.",
        ),
    ],
    meter: Annotated[MeterOption, typer.Option(help="Energy meter.")] = MeterOption.auto,
    port: Annotated[int, typer.Option(min=0, max=65535, help="HTTP API port.")] = 8600,
    host: Annotated[str, typer.Option(help="HTTP API address.")] = "127.0.0.1",
    deployments: Annotated[
        Path, typer.Option(help="Deployments JSON (addresses per chain id).")
    ] = Path("deployments.json"),
    db: Annotated[Path, typer.Option(help="The node's SQLite database.")] = Path(
        "jl-oracle.sqlite"
    ),
    batch_size: Annotated[
        int, typer.Option(min=1, max=1000, help="Jobs per settle transaction.")
    ] = 16,
    batch_delay: Annotated[
        float, typer.Option(min=0, help="Longest a signed job waits for its batch (seconds).")
    ] = 30.0,
    api_token_env: Annotated[
        str, typer.Option(help="Environment variable holding the API token for POST endpoints.")
    ] = API_TOKEN_ENV,
    provider_keystore: Annotated[
        Path | None,
        typer.Option(
            help="Keystore of the provider account that claims and withdraws (password: "
            "$JL_PROVIDER_PASSWORD or a prompt). Default: the oracle key is the provider.",
        ),
    ] = None,
    specs: Annotated[
        Path | None,
        typer.Option(help="Job spec registry JSON (default: <db>.specs.json)."),
    ] = None,
    claim: Annotated[
        bool, typer.Option(help="Claim jobs off the queue (--no-claim: only API requests).")
    ] = True,
    poll_interval: Annotated[
        float, typer.Option(min=0.01, help="Seconds between looks for work when idle.")
    ] = 2.0,
    withdraw_interval: Annotated[
        float, typer.Option(min=0.01, help="Seconds between withdrawal checks.")
    ] = 60.0,
    gpu: Annotated[int, typer.Option(min=0, help="GPU index jobs run on.")] = 0,
    seed: Annotated[int, typer.Option(help="Simulated meter's noise seed.")] = 0,
    simulate_as: Annotated[
        str | None,
        typer.Option(
            metavar="CLASS",
            help="GPU class the simulated meter models, instead of the one the provider is "
            "registered for (needed when the SDK's catalogue lacks that class; logged).",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run the node: claim, run, meter, sign and settle jobs, and serve the HTTP API.

    Without a GPU (or with --meter simulated) the meter models the GPU class the provider is
    registered for; a class the SDK's catalogue lacks is refused unless --simulate-as names
    a known one to model instead."""
    _setup_logging(log_level)
    try:
        _serve(
            rpc=rpc,
            keystore=keystore,
            meter_kind=meter.value,
            port=port,
            host=host,
            deployments=deployments,
            db=db,
            batch_size=batch_size,
            batch_delay=batch_delay,
            api_token_env=api_token_env,
            provider_keystore=provider_keystore,
            specs_path=specs if specs is not None else Path(f"{db}.specs.json"),
            claim=claim,
            poll_interval=poll_interval,
            withdraw_interval=withdraw_interval,
            gpu=gpu,
            seed=seed,
            simulate_as=simulate_as,
            log_level=log_level,
        )
    except (OracleError, JouleLedgerError, OSError, ValueError) as exc:
        _fail(exc, 2 if _config_error(exc) else 1)


def _serve(
    *,
    rpc: str,
    keystore: Path,
    meter_kind: str,
    port: int,
    host: str,
    deployments: Path,
    db: Path,
    batch_size: int,
    batch_delay: float,
    api_token_env: str,
    provider_keystore: Path | None,
    specs_path: Path,
    claim: bool,
    poll_interval: float,
    withdraw_interval: float,
    gpu: int,
    seed: int,
    simulate_as: str | None,
    log_level: str,
) -> None:
    # Imported here so that `jl-oracle meter` starts without FastAPI, uvicorn and the client.
    import uvicorn
    from pydantic import SecretStr

    from jouleledger.client import JouleLedger

    from .api import ApiSettings, create_app
    from .binding import bind_store
    from .chain import LedgerChain, check_registration
    from .node import NodeConfig, OracleNode
    from .signer import OracleSigner
    from .specs import SpecRegistry
    from .store import OracleStore

    oracle_key = decrypt_keystore(keystore, read_password(prompt=_prompt()))
    signer = OracleSigner(oracle_key)
    if provider_keystore is not None:
        password = read_password(PROVIDER_PASSWORD_ENV, prompt=_prompt())
        provider_key = decrypt_keystore(provider_keystore, password)
    else:
        provider_key = oracle_key
    account = Account.from_key(provider_key)
    logger.info("oracle signer %s, provider %s", signer.address, account.address)

    client = JouleLedger.connect(rpc, deployments=deployments, account=account)
    chain = LedgerChain(client)
    registration = check_registration(chain, signer.address)
    gpu_class = registration.gpu_class
    if simulate_as is not None:
        logger.warning(
            "meter: simulating %s as asked (--simulate-as) if no GPU is measured; the provider "
            "is registered for %s",
            simulate_as,
            gpu_class,
        )
        gpu_class = simulate_as
    config = NodeConfig(
        batch_size=batch_size,
        batch_delay_s=batch_delay,
        poll_interval_s=poll_interval,
        withdraw_interval_s=withdraw_interval,
        claim_jobs=claim,
        gpu_index=gpu,
    )
    token = os.environ.get(api_token_env)
    if not token:
        logger.warning("no API token in $%s: the POST endpoints are disabled", api_token_env)
    bind_store(db, chain.domain, chain.provider)
    try:
        chosen = select_meter(cast(MeterChoice, meter_kind), gpu_class=gpu_class, seed=seed)
    except NoGpuProfile as exc:
        raise ConfigError(
            f"{exc}. This provider is registered for GPU class {registration.gpu_class}: run "
            "the node on that GPU (--meter nvml), or pass --simulate-as CLASS to model a known "
            "class instead"
        ) from exc
    with chosen as gpu_meter, OracleStore(db) as store:
        if gpu_meter.kind == "simulated":
            logger.warning(
                "meter: SIMULATED %s: no GPU is measured; every record says meter_kind=simulated",
                gpu_class,
            )
        else:
            logger.info(
                "meter: NVML, %d GPU(s); jobs run on GPU %d", len(gpu_meter.describe()), gpu
            )
        node = OracleNode(
            chain=chain,
            store=store,
            meter=gpu_meter,
            signer=signer,
            specs=SpecRegistry(specs_path),
            config=config,
        )
        api = create_app(node, ApiSettings(api_token=SecretStr(token) if token else None))
        logger.info("serving the API on http://%s:%d (docs at /docs); database %s", host, port, db)
        uvicorn.run(api, host=host, port=port, log_level=log_level.lower(), lifespan="on")


@app.command("signer-proof")
def signer_proof(
    rpc: Annotated[str, typer.Option("--rpc", help="Ethereum JSON-RPC URL.")],
    keystore: Annotated[
        Path,
        typer.Option(
            "--keystore",
            help="The oracle key's keystore. Password: $JL_ORACLE_PASSWORD or a prompt.",
        ),
    ],
    provider: Annotated[
        str, typer.Option("--provider", metavar="ADDR", help="The provider that binds this key.")
    ],
    deployments: Annotated[
        Path, typer.Option(help="Deployments JSON (addresses per chain id).")
    ] = Path("deployments.json"),
) -> None:
    """Print this oracle key's proof that it agrees to sign for PROVIDER: the provider passes
    it to `jl provider register --signer ADDR --signer-proof HEX`, so the key never leaves
    this machine. Good for one binding (the provider's signer nonce moves on)."""
    try:
        from web3 import Web3

        from jouleledger.client import JouleLedger

        if not Web3.is_address(provider):
            raise ValueError(f"--provider: {provider!r} is not an address")
        oracle = Account.from_key(decrypt_keystore(keystore, read_password(prompt=_prompt())))
        client = JouleLedger.connect(rpc, deployments=deployments)
        proof = client.signer_proof(oracle, Web3.to_checksum_address(provider))
    except (OracleError, JouleLedgerError, OSError, ValueError) as exc:
        _fail(exc, 2 if _config_error(exc) else 1)
    typer.echo("0x" + proof.hex())


@app.command("meter")
def meter_command(
    meter: Annotated[MeterOption, typer.Option(help="Which meter to use.")] = MeterOption.auto,
    seconds: Annotated[
        float, typer.Option(min=0.2, max=60, help="Length of the sample window.")
    ] = 1.5,
    gpu_class: Annotated[
        str, typer.Option(help="The simulated meter's GPU class.")
    ] = "nvidia-h100",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Show what the meter sees: GPUs, model, driver, UUID, and a short energy sample."""
    _setup_logging("warning")
    try:
        with select_meter(meter.value, gpu_class=gpu_class) as chosen:
            gpus, readings = _sample(chosen, seconds)
    except (OracleError, OSError) as exc:
        _fail(exc, 2 if _config_error(exc) else 1)
    simulated = chosen.kind == "simulated"
    if as_json:
        print(
            json.dumps(
                {
                    "meter_kind": chosen.kind,
                    "simulated": simulated,
                    "gpus": [gpu.model_dump(mode="json") for gpu in gpus],
                    "samples": [_sample_view(r) | {"gpu_index": r.gpu_index} for r in readings],
                },
                indent=2,
            )
        )
        return
    if simulated:
        out.print(
            "[bold yellow]SIMULATED METER[/]: no NVIDIA GPU was measured (why: see the log on "
            "stderr). Numbers come from a power model; records from it say "
            "meter_kind=simulated.",
            highlight=False,
        )
    else:
        out.print("[bold green]NVML[/]: real GPU energy counters.", highlight=False)
    table = Table(title=f"GPUs ({chosen.kind})")
    for column in ("index", "model", "driver", "UUID"):
        table.add_column(column)
    for gpu in gpus:
        table.add_row(str(gpu.index), gpu.name, gpu.driver_version, gpu.uuid)
    out.print(table)
    sample = Table(title=f"{seconds:g} s sample")
    for column in (
        "GPU",
        "window ms",
        "energy mJ",
        "source",
        "power integral mJ",
        "mean W",
        "samples",
    ):
        sample.add_column(column)
    for reading in readings:
        view = _sample_view(reading)
        sample.add_row(
            str(reading.gpu_index),
            str(view["window_ms"]),
            str(view["energy_mj"]),
            str(view["energy_source"]),
            str(view["power_integral_mj"]),
            f"{view['mean_power_w']:.1f}",
            str(view["power_samples"]),
        )
    out.print(sample)
    for reading in readings:
        for note in reading.notes:
            out.print(f"GPU {reading.gpu_index}: {note}", highlight=False)


def _sample(meter: Meter, seconds: float) -> tuple[list[Any], list[Reading]]:
    """Measure every GPU over one window of `seconds` (sessions run side by side)."""
    gpus = meter.describe()
    sessions: list[MeterSession] = []
    try:
        for gpu in gpus:
            sessions.append(meter.start(0, gpu_index=gpu.index))
        time.sleep(seconds)
        return gpus, [session.stop() for session in sessions]
    finally:
        for session in sessions:
            session.abort()


def _sample_view(reading: Reading) -> dict[str, Any]:
    window_s = reading.gpu_millis / 1000
    return {
        "window_ms": reading.gpu_millis,
        "energy_mj": reading.energy_mj,
        "energy_source": reading.energy_source,
        "power_integral_mj": reading.power_integral_mj,
        "mean_power_w": reading.energy_mj / 1000 / window_s if window_s else 0.0,
        "power_samples": len(reading.power_samples),
        "coarse": reading.coarse,
    }


@app.command()
def version() -> None:
    """Print the version."""
    print(__version__)


def main() -> None:
    """The console script's entry point."""
    app()


if __name__ == "__main__":
    main()
