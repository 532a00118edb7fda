"""``jl-oracle serve`` (run the node and its HTTP API) and ``jl-oracle signer-proof``.

Settings come from `jouleledger_oracle.settings.OracleSettings`: its defaults, then the
environment (``JL_ORACLE_<FIELD>``), then the flags given here, which win. A flag that is
not given is left out, so the environment and the defaults (written once, in the settings
model) decide.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer
from eth_account import Account

from ..errors import ConfigError, NoGpuProfile
from ..settings import API_TOKEN_ENV, OracleSettings
from ..signer import decrypt_keystore, read_password
from .common import FAILURES, app, fail, logger, prompt, setup_logging
from .meter import MeterOption

PROVIDER_PASSWORD_ENV = "JL_PROVIDER_PASSWORD"

Opt = typer.Option


@app.command()
def serve(
    rpc: Annotated[str | None, Opt("--rpc", help="Ethereum JSON-RPC URL.")] = None,
    keystore: Annotated[
        Path | None,
        Opt(
            "--keystore",
            help="The oracle key's keystore (eth-account JSON). Password: $JL_ORACLE_PASSWORD "
            "or a prompt.",
        ),
    ] = None,
    meter: Annotated[MeterOption | None, Opt(help="Energy meter [auto].")] = None,
    port: Annotated[int | None, Opt(min=0, max=65535, help="HTTP API port [8600].")] = None,
    host: Annotated[str | None, Opt(help="HTTP API address [127.0.0.1].")] = None,
    deployments: Annotated[
        Path | None, Opt(help="Deployments JSON (addresses per chain id) [deployments.json].")
    ] = None,
    db: Annotated[Path | None, Opt(help="The node's SQLite database [jl-oracle.sqlite].")] = None,
    batch_size: Annotated[
        int | None, Opt(min=1, max=1000, help="Jobs per settle transaction [16].")
    ] = None,
    batch_delay: Annotated[
        float | None, Opt(min=0, help="Longest a signed job waits for its batch, s [30].")
    ] = None,
    api_token_env: Annotated[
        str, Opt(help="Environment variable holding the API token for POST endpoints.")
    ] = API_TOKEN_ENV,
    provider_keystore: Annotated[
        Path | None,
        Opt(
            help="Keystore of the provider account that claims and withdraws (password: "
            "$JL_PROVIDER_PASSWORD or a prompt). Default: the oracle key is the provider.",
        ),
    ] = None,
    specs: Annotated[
        Path | None, Opt(help="Job spec registry JSON (default: <db>.specs.json).")
    ] = None,
    claim: Annotated[
        bool | None, Opt(help="Claim jobs off the queue (--no-claim: only API requests).")
    ] = None,
    poll_interval: Annotated[
        float | None, Opt(min=0.01, help="Seconds between looks for work when idle [2].")
    ] = None,
    withdraw_interval: Annotated[
        float | None, Opt(min=0.01, help="Seconds between withdrawal checks [60].")
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
        int | None, Opt(min=1, max=64, help="GPUs of the simulated meter [1].")
    ] = None,
    seed: Annotated[int | None, Opt(help="Simulated meter's noise seed [0].")] = None,
    simulate_as: Annotated[
        str | None,
        Opt(
            metavar="CLASS",
            help="GPU class the simulated meter models, instead of the one the provider is "
            "registered for (needed when the SDK's catalogue lacks that class; logged).",
        ),
    ] = None,
    log_level: Annotated[str | None, Opt(help="debug, info, warning or error [info].")] = None,
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

    if settings.rpc is None or settings.keystore is None:
        raise ConfigError("give --rpc and --keystore (or JL_ORACLE_RPC and JL_ORACLE_KEYSTORE)")
    oracle_key = decrypt_keystore(settings.keystore, read_password(prompt=prompt()))
    signer = OracleSigner(oracle_key)
    provider_key = oracle_key
    if settings.provider_keystore is not None:
        password = read_password(PROVIDER_PASSWORD_ENV, prompt=prompt())
        provider_key = decrypt_keystore(settings.provider_keystore, password)
    account = Account.from_key(provider_key)
    logger.info("oracle signer %s, provider %s", signer.address, account.address)

    client = JouleLedger.connect(settings.rpc, deployments=settings.deployments, account=account)
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
    rpc: Annotated[str, Opt("--rpc", help="Ethereum JSON-RPC URL.")],
    keystore: Annotated[
        Path,
        Opt(
            "--keystore",
            help="The oracle key's keystore. Password: $JL_ORACLE_PASSWORD or a prompt.",
        ),
    ],
    provider: Annotated[
        str, Opt("--provider", metavar="ADDR", help="The provider that binds this key.")
    ],
    deployments: Annotated[Path, Opt(help="Deployments JSON (addresses per chain id).")] = Path(
        "deployments.json"
    ),
) -> None:
    """Print this oracle key's proof that it agrees to sign for PROVIDER: the provider passes
    it to `jl provider register --signer ADDR --signer-proof HEX`, so the key never leaves
    this machine. Good for one binding (the provider's signer nonce moves on).

    \f
    Args:
        rpc: the Ethereum JSON-RPC URL.
        keystore: the oracle key's keystore.
        provider: the provider that binds the key.
        deployments: the deployments file.

    Raises:
        typer.Exit: 1 at run time, 2 for bad configuration.
    """
    try:
        from web3 import Web3

        from jouleledger.client import JouleLedger

        if not Web3.is_address(provider):
            raise ValueError(f"--provider: {provider!r} is not an address")
        oracle = Account.from_key(decrypt_keystore(keystore, read_password(prompt=prompt())))
        client = JouleLedger.connect(rpc, deployments=deployments)
        proof = client.signer_proof(oracle, Web3.to_checksum_address(provider))
    except FAILURES as exc:
        fail(exc)
    typer.echo("0x" + proof.hex())
