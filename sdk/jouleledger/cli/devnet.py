"""``jl devnet up|status|down``: a local chain with the protocol deployed, in the background."""

from __future__ import annotations

import time
from enum import StrEnum
from typing import Annotated

import typer

from .. import transport
from ..deployment import deploy_protocol, save_deployment
from ..transport import CHAIN_IDS, DEFAULT_ACCOUNTS, HOST, ChainKind, free_port
from ..transport.chains import find_program, node_args
from . import devnet_process as proc
from .config import DevnetRecord, forget_deployment, load_devnet, remove_devnet, save_devnet
from .errors import CliError, ExitCode
from .output import duration, key_value_table
from .session import connect, dev_account, session

app = typer.Typer(help="Run a local chain with the protocol deployed, in the background.")


class DevnetChain(StrEnum):
    """The chains `jl devnet up` can start (the embedded one cannot outlive the CLI)."""

    anvil = "anvil"
    ganache = "ganache"


@app.command()
def up(
    ctx: typer.Context,
    chain: Annotated[
        DevnetChain, typer.Option("--chain", help="Which local chain to run.")
    ] = DevnetChain.anvil,
    port: Annotated[
        int | None,
        typer.Option(
            "--port", min=1, max=65535, help="TCP port on 127.0.0.1 (default: a free one)."
        ),
    ] = None,
) -> None:
    """Start a devnet in the background, deploy the protocol and record both.

    The chain keeps running after `jl` exits; later commands use it by default (no --rpc
    needed) and `jl devnet down` stops it. Accounts dev:0 to dev:9 are funded with ether;
    dev:0 deployed the protocol and holds the CPT supply (`jl faucet` mints more).
    """
    s = session(ctx)
    paths = s.paths
    existing = load_devnet(paths.devnet)
    if existing is not None and proc.is_running(existing):
        raise CliError(
            f"a devnet is already running: {existing.chain} (pid {existing.pid}) at "
            f"{existing.rpc_url}; stop it with `jl devnet down` first",
            ExitCode.USAGE,
        )
    kind = ChainKind(chain.value)
    program = find_program(kind)
    if port is None:
        port = free_port()
    else:
        proc.check_port_free(port)
    url = f"http://{HOST}:{port}"
    log_path = paths.devnet_log
    with s.out.activity(f"starting {kind} on port {port}"):
        process = proc.spawn(program + node_args(kind, port), log_path)
        record = DevnetRecord(
            pid=process.pid,
            port=port,
            chain=kind.value,
            chain_id=CHAIN_IDS[kind],
            rpc_url=url,
            log_path=str(log_path),
            started_at=time.time(),
        )
        save_devnet(paths.devnet, record)  # recorded first, so `down` can always clean up
        try:
            proc.wait_until_ready(process, url, log_path)
        except BaseException:
            proc.stop(process.pid)
            remove_devnet(paths.devnet)
            raise
    try:
        with s.out.activity("deploying the token, staking and market contracts"):
            w3 = connect(url, s.out, chain_id=record.chain_id)
            deployment = deploy_protocol(w3, dev_account(0))
            save_deployment(paths.deployments, deployment)
    except BaseException:
        proc.stop(process.pid)
        remove_devnet(paths.devnet)
        raise
    record = record.model_copy(
        update={
            "token": deployment.token,
            "staking": deployment.staking,
            "market": deployment.market,
        }
    )
    save_devnet(paths.devnet, record)
    s.out.result(
        {**_record_json(record), "running": True, "block": deployment.block},
        [
            f"devnet {kind} running in the background (pid {record.pid}), chain id "
            f"{record.chain_id}",
            f"rpc      {url}",
            f"token    {deployment.token}",
            f"staking  {deployment.staking}",
            f"market   {deployment.market}",
            f"accounts dev:0 .. dev:{DEFAULT_ACCOUNTS - 1} (use --account dev:N); dev:0 holds "
            "the CPT supply",
            f"log      {log_path}",
            "stop it with `jl devnet down`",
        ],
    )


@app.command()
def status(ctx: typer.Context) -> None:
    """Show the background devnet: process, RPC URL, block height and addresses.

    Exits with code 5 when no devnet is running.
    """
    s = session(ctx)
    record = load_devnet(s.paths.devnet)
    if record is None:
        raise CliError("no devnet is running: start one with `jl devnet up`", ExitCode.NOT_FOUND)
    if not proc.is_running(record):
        raise CliError(
            f"the devnet recorded in {s.paths.devnet} (pid {record.pid}) is not running any "
            "more: `jl devnet down` forgets it, `jl devnet up` starts a new one",
            ExitCode.NOT_FOUND,
        )
    w3 = transport.connect(record.rpc_url, timeout=5.0)
    block = int(w3.eth.block_number)
    uptime = int(time.time() - record.started_at)
    if s.out.json_mode:
        s.out.json({**_record_json(record), "running": True, "block": block})
    else:
        rows = [
            ("chain", f"{record.chain} (chain id {record.chain_id})"),
            ("pid", f"{record.pid} (up {duration(uptime)})"),
            ("rpc", record.rpc_url),
            ("block", f"{block:,}"),
            ("token", record.token or "-"),
            ("staking", record.staking or "-"),
            ("market", record.market or "-"),
            ("log", record.log_path),
        ]
        s.out.table(key_value_table(rows, title="devnet"))


@app.command()
def down(ctx: typer.Context) -> None:
    """Stop the background devnet (its whole process group) and forget it.

    Its deployment record is dropped too, since its contracts are gone with it. Exits 0
    when no devnet is running, so it is safe in cleanup scripts.
    """
    s = session(ctx)
    record = load_devnet(s.paths.devnet)
    if record is None:
        s.out.result({"stopped": False}, "no devnet is running: nothing to stop")
        return
    was_running = proc.is_running(record)
    if was_running:
        with s.out.activity(f"stopping {record.chain} (pid {record.pid})"):
            proc.stop(record.pid)
    remove_devnet(s.paths.devnet)
    if record.market:
        forget_deployment(s.paths.deployments, record.chain_id, record.market)
    s.out.result(
        {"stopped": was_running, "pid": record.pid, "chain": record.chain},
        f"stopped {record.chain} (pid {record.pid}) at {record.rpc_url}"
        if was_running
        else f"the devnet (pid {record.pid}) had already exited; forgot it",
    )


def _record_json(record: DevnetRecord) -> dict[str, object]:
    return {
        "chain": record.chain,
        "chain_id": record.chain_id,
        "pid": record.pid,
        "port": record.port,
        "rpc_url": record.rpc_url,
        "log_path": record.log_path,
        "token": record.token,
        "staking": record.staking,
        "market": record.market,
    }
