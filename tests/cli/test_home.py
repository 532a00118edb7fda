"""One home for every tool (`jouleledger.home`): `jl`, `jl-oracle`, the indexer and the
dashboard find the same files under ``$JL_HOME``; `jl account address` and
``JL_DASHBOARD_PORT`` serve the README's tour."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from jouleledger.cli import ExitCode
from jouleledger.cli.session import Session
from jouleledger.home import Paths
from jouleledger_indexer import default_database_url
from jouleledger_oracle.settings import OracleSettings

from .conftest import Chain, Jl, error_line

PASSWORD = {"JL_PASSWORD": "correct horse"}


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"JL_HOME": "/srv/jl"}, Path("/srv/jl")),
        ({"JL_HOME": "", "HOME": "/home/me"}, Path("/home/me/.jouleledger")),
        ({"HOME": "/home/me"}, Path("/home/me/.jouleledger")),
    ],
)
def test_the_home_is_jl_home_else_dot_jouleledger(
    environ: dict[str, str], expected: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", environ.get("HOME", "/home/me"))
    paths = Paths.from_env(environ)
    assert paths.home == expected
    assert paths.deployments == expected / "deployments.json"
    assert paths.keystore("my-oracle") == expected / "keystores" / "my-oracle.json"
    assert (paths.devnet, paths.devnet_log) == (expected / "devnet.json", expected / "devnet.log")


def test_the_index_and_the_nodes_deployments_come_from_the_same_home(chain: Chain) -> None:
    paths = Paths(Path("/srv/jl"))
    url = default_database_url(paths.home, chain.deployment)
    assert url.startswith(f"sqlite:///{paths.index}/31337-")
    # The node has no deployments file of its own: unset, it is $JL_HOME's, as for jl.
    assert OracleSettings().deployments is None


def test_a_missing_deployment_names_the_file_under_jl_home(jl: Jl, chain: Chain) -> None:
    jl.home.joinpath("deployments.json").unlink()
    result = jl("balance", "dev:0")
    assert result.exit_code == ExitCode.NOT_FOUND
    assert error_line(result) == (
        f"error: no deployment on chain 31337 (at {chain.url}) in {jl.home}/deployments.json, "
        "the deployments file under $JL_HOME: run `jl deploy` or `jl devnet up`"
    )


def test_account_address_prints_the_address_alone(jl: Jl, chain: Chain) -> None:
    created = jl.json("account", "new", "my-provider", "--light-kdf", env=PASSWORD)
    assert jl.ok("account", "address", "my-provider", rpc=None) == created["address"] + "\n"
    assert jl.ok("account", "address", "dev:1", rpc=None) == chain.net.accounts[1].address + "\n"
    unknown = jl("account", "address", "nobody", rpc=None)
    assert unknown.exit_code == ExitCode.NOT_FOUND
    assert "create one with `jl account new`" in error_line(unknown)


def test_the_dashboard_port_comes_from_jl_dashboard_port_unless_given(
    jl: Jl, monkeypatch: pytest.MonkeyPatch
) -> None:
    import jouleledger_dashboard.cli

    ports: list[int] = []

    def serve(session: Session, **options: Any) -> None:
        ports.append(options["port"])

    monkeypatch.setattr(jouleledger_dashboard.cli, "serve", serve)
    jl.ok("dashboard", env={"JL_DASHBOARD_PORT": "18800"})
    jl.ok("dashboard", "--port", "18801", env={"JL_DASHBOARD_PORT": "18800"})
    jl.ok("dashboard", env={"JL_DASHBOARD_PORT": None})
    assert ports == [18800, 18801, 8800]
