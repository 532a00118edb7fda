"""``jl-oracle serve`` (run the node and its HTTP API) and ``jl-oracle signer-proof``.

Settings come from `jouleledger_oracle.settings.OracleSettings`: its defaults, then the
environment (``JL_ORACLE_<FIELD>``), then the flags given here, which win. A flag that is
not given is left out, so the environment and the defaults (written once, in the settings
model) decide. What is still unset when the node starts is found where `jl` keeps it
(`common`): the running devnet's URL, keystores by `jl account` name and the deployments
file under ``$JL_HOME``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from eth_account import Account

from jouleledger.home import Paths

from ..errors import ConfigError, NoGpuProfile
from ..settings import API_TOKEN_ENV, OracleSettings
from ..signer import PASSWORD_ENV, decrypt_keystore
from .common import (
    FAILURES,
    app,
    fail,
    find_deployment,
    keystore_file,
    keystore_password,
    logger,
    rpc_url,
    setup_logging,
)
from .meter import MeterOption

PROVIDER_PASSWORD_ENV = "JL_PROVIDER_PASSWORD"
RPC_HELP = (
    "Ethereum JSON-RPC URL [$JL_RPC, else the devnet `jl devnet up` runs, else "
    "http://127.0.0.1:8545]."
)
DEPLOYMENTS_HELP = (
    "Deployments JSON, addresses per chain id [$JL_HOME/deployments.json, where `jl devnet up` "
    "and `jl deploy` record them]."
)

Opt = typer.Option


@app.command()
def serve(
    rpc: Annotated[str | None, Opt("--rpc", help=RPC_HELP)] = None,
    keystore: Annotated[
        Path | None,
        Opt(
            "--keystore",
            metavar="NAME|FILE",
            help="The oracle key: a `jl account` name (under $JL_HOME/keystores) or a keystore "
            "file. Password: $JL_ORACLE_PASSWORD, else $JL_PASSWORD, else a prompt.",
        ),
    ] = None,
    meter: Annotated[MeterOption | None, Opt(help="Energy meter (default: auto).")] = None,
    port: Annotated[
        int | None, Opt(min=0, max=65535, help="HTTP API port (default: 8600).")
    ] = None,
    host: Annotated[str | None, Opt(help="HTTP API address (default: 127.0.0.1).")] = None,
    deployments: Annotated[Path | None, Opt(help=DEPLOYMENTS_HELP)] = None,
    db: Annotated[
        Path | None, Opt(help="The node's SQLite database (default: jl-oracle.sqlite).")
    ] = None,
    batch_size: Annotated[
        int | None, Opt(min=1, max=1000, help="Jobs per settle transaction (default: 16).")
    ] = None,
    batch_delay: Annotated[
        float | None, Opt(min=0, help="Longest a signed job waits for its batch, s (default: 30).")
    ] = None,
    api_token_env: Annotated[
        str, Opt(help="Environment variable holding the API token for POST endpoints.")
    ] = API_TOKEN_ENV,
    provider_keystore: Annotated[
        Path | None,
        Opt(
            metavar="NAME|FILE",
            help="The provider account that claims and withdraws: a `jl account` name or a "
            "keystore file (password: $JL_PROVIDER_PASSWORD, else $JL_PASSWORD, else a "
            "prompt). Default: the oracle key is the provider.",
        ),
    ] = None,
    specs: Annotated[
        Path | None, Opt(help="Job spec registry JSON (default: <db>.specs.json).")
    ] = None,
    claim: Annotated[
        bool | None, Opt(help="Claim jobs off the queue (--no-claim: only API requests).")
    ] = None,
    poll_interval: Annotated[
        float | None, Opt(min=0.01, help="Seconds between looks for work when idle (default: 2).")
    ] = None,
    withdraw_interval: Annotated[
        float | None, Opt(min=0.01, help="Seconds between withdrawal checks (default: 60).")
    ] = None,
    gpu: Annotated[
        list[str] | None,
        Opt(
            metavar="UUID|INDEX",
            help="A GPU jobs run on, by UUID or meter index; repeat it for several (one job "
            "per GPU at a time) [every GPU the meter finds].",
        ),
    ] = None,
    simulated_gpus: Annotated[
        int | None, Opt(min=1, max=64, help="GPUs of the simulated meter (default: 1).")
    ] = None,
    seed: Annotated[int | None, Opt(help="Simulated meter's noise seed (default: 0).")] = None,
    simulate_as: Annotated[
        str | None,
        Opt(
            metavar="CLASS",
            help="GPU class the simulated meter models, instead of the one the provider is "
            "registered for (needed when the SDK's catalogue lacks that class; logged).",
        ),
    ] = None,
    log_level: Annotated[
        str | None, Opt(help="debug, info, warning or error (default: info).")
    ] = None,
) -> None:
    """Run the node: claim, run, meter, sign and settle jobs, and serve the HTTP API.

    Every option can also be set in the environment as JL_ORACLE_<NAME> (e.g.
    JL_ORACLE_BATCH_SIZE); a flag wins. Without a GPU (or with --meter simulated) the meter
    models the GPU class the provider is registered for; a class the SDK's catalogue lacks
    is refused unless --simulate-as names a known one to model instead.

    \f
    Args:
        rpc, keystore, meter, port, host, deployments, db, batch_size, batch_delay,
            provider_keystore, specs, claim, poll_interval, withdraw_interval, seed,
            simulated_gpus, simulate_as, log_level: the `OracleSettings` fields of the same
            meaning.
        gpu: the `OracleSettings.gpus`.
        api_token_env: another environment variable to read the API token from.

    Raises:
        typer.Exit: 1 when the node fails at run time, 2 for bad configuration.
    """
    flags: dict[str, Any] = {
        "rpc": rpc,
        "keystore": keystore,
        "meter": meter.value if meter is not None else None,
        "port": port,
        "host": host,
        "deployments": deployments,
        "db": db,
        "batch_size": batch_size,
        "batch_delay_s": batch_delay,
        "provider_keystore": provider_keystore,
        "specs": specs,
        "claim_jobs": claim,
        "poll_interval_s": poll_interval,
        "withdraw_interval_s": withdraw_interval,
        "gpus": tuple(gpu) if gpu else None,
        "simulated_gpus": simulated_gpus,
        "seed": seed,
        "simulate_as": simulate_as,
        "log_level": log_level,
    }
    if api_token_env != API_TOKEN_ENV:
        # The operator named the variable: its value alone decides, and unset or empty keeps
        # the write endpoints off (never a token from JL_ORACLE_API_TOKEN they did not pick).
        flags["api_token"] = os.environ.get(api_token_env) or ""
    try:
        settings = OracleSettings(**{k: v for k, v in flags.items() if v is not None})
    except ValueError as exc:
        fail(ConfigError(f"bad setting: {exc}"))
    setup_logging(settings.log_level)
    try:
        run_node(settings)
    except FAILURES as exc:
        fail(exc)


def run_node(settings: OracleSettings) -> None:
    """Open the keys, connect, check the registration, pick the meter, and serve the node's
    API until interrupted.

    Args:
        settings: every setting of the node.

    Raises:
        ConfigError: a missing or wrong setting (no RPC URL or keystore, provider not
            registered, GPU class without a power model).
        KeystoreError: a keystore that does not open.
        ChainUnavailable: the chain cannot be read.
    """
    # Imported here so that `jl-oracle meter` starts without FastAPI, uvicorn and the client.
    import uvicorn

    from jouleledger.client import JouleLedger

    from ..api import create_app
    from ..binding import bind_store
    from ..chain import LedgerChain, check_registration
    from ..metering import select_meter
    from ..node import OracleNode
    from ..signer import OracleSigner
    from ..specs import SpecRegistry
    from ..store import OracleStore

    if settings.keystore is None:
        raise ConfigError(
            "give --keystore NAME (a `jl account new` key) or FILE (or JL_ORACLE_KEYSTORE)"
        )
    paths = Paths.from_env()
    oracle_key = decrypt_keystore(
        keystore_file(settings.keystore, paths), keystore_password(PASSWORD_ENV)
    )
    signer = OracleSigner(oracle_key)
    provider_key = oracle_key
    if settings.provider_keystore is not None:
        password = keystore_password(PROVIDER_PASSWORD_ENV)
        provider_key = decrypt_keystore(keystore_file(settings.provider_keystore, paths), password)
    account = Account.from_key(provider_key)
    logger.info("oracle signer %s, provider %s", signer.address, account.address)

    rpc = rpc_url(settings.rpc, paths)
    deployment = find_deployment(rpc, settings.deployments, paths)
    client = JouleLedger.connect(rpc, deployment=deployment, account=account)
    chain = LedgerChain(client)
    registration = check_registration(chain, signer.address)
    gpu_class = registration.gpu_class
    if settings.simulate_as is not None:
        logger.warning(
            "meter: simulating %s as asked (--simulate-as) if no GPU is measured; the provider "
            "is registered for %s",
            settings.simulate_as,
            gpu_class,
        )
        gpu_class = settings.simulate_as
    if settings.api_token is None:
        logger.warning("no API token in $%s: the POST endpoints are disabled", API_TOKEN_ENV)
    bind_store(settings.db, chain.domain, chain.provider)
    try:
        chosen = select_meter(
            settings.meter,
            gpu_class=gpu_class,
            seed=settings.seed,
            gpu_count=settings.simulated_gpus,
        )
    except NoGpuProfile as exc:
        raise ConfigError(
            f"{exc}. This provider is registered for GPU class {registration.gpu_class}: run "
            "the node on that GPU (--meter nvml, amd-smi or rapl), or pass --simulate-as CLASS "
            "to model a known class instead"
        ) from exc
    with chosen as gpu_meter, OracleStore(settings.db) as store:
        if gpu_meter.kind == "simulated":
            logger.warning(
                "meter: SIMULATED %s: no GPU is measured; every record says meter_kind=simulated",
                gpu_class,
            )
        node = OracleNode(
            chain=chain,
            store=store,
            meter=gpu_meter,
            signer=signer,
            specs=SpecRegistry(settings.specs_path),
            config=settings.node_config(),
        )
        logger.info(
            "meter: %s; jobs run one per GPU on %s",
            gpu_meter.kind,
            ", ".join(f"{gpu.index}: {gpu.name} {gpu.uuid}" for gpu in node.devices()),
        )
        host, port = settings.host, settings.port
        logger.info(
            "serving the API on http://%s:%d (docs at /docs); database %s", host, port, settings.db
        )
        uvicorn.run(
            create_app(node, settings),
            host=host,
            port=port,
            log_level=settings.log_level.lower(),
            lifespan="on",
        )


@app.command("signer-proof")
def signer_proof(
    keystore: Annotated[
        Path,
        Opt(
            "--keystore",
            metavar="NAME|FILE",
            help="The oracle key: a `jl account` name or a keystore file. Password: "
            "$JL_ORACLE_PASSWORD, else $JL_PASSWORD, else a prompt.",
        ),
    ],
    provider: Annotated[
        str, Opt("--provider", metavar="ADDR", help="The provider that binds this key.")
    ],
    rpc: Annotated[str | None, Opt("--rpc", help=RPC_HELP)] = None,
    deployments: Annotated[Path | None, Opt(help=DEPLOYMENTS_HELP)] = None,
) -> None:
    """Print this oracle key's proof that it agrees to sign for PROVIDER: the provider passes
    it to `jl provider register --signer ADDR --signer-proof HEX`, so the key never leaves
    this machine. Good for one binding (the provider's signer nonce moves on).

    \f
    Args:
        keystore: the oracle key's keystore (a name or a file).
        provider: the provider that binds the key.
        rpc: the Ethereum JSON-RPC URL (None: as `jl` finds it).
        deployments: the deployments file (None: ``$JL_HOME``'s).

    Raises:
        typer.Exit: 1 at run time, 2 for bad configuration.
    """
    try:
        from web3 import Web3

        from jouleledger.client import JouleLedger

        if not Web3.is_address(provider):
            raise ValueError(f"--provider: {provider!r} is not an address")
        paths = Paths.from_env()
        key = decrypt_keystore(keystore_file(keystore, paths), keystore_password(PASSWORD_ENV))
        oracle = Account.from_key(key)
        url = rpc_url(rpc, paths)
        client = JouleLedger.connect(url, deployment=find_deployment(url, deployments, paths))
        proof = client.signer_proof(oracle, Web3.to_checksum_address(provider))
    except FAILURES as exc:
        fail(exc)
    typer.echo("0x" + proof.hex())
