"""The node's settings: one pydantic-settings model behind the CLI and the HTTP API.

`OracleSettings` holds every setting once, with its default and its bounds. It reads the
environment (``JL_ORACLE_<FIELD>``, e.g. ``JL_ORACLE_BATCH_SIZE=32``,
``JL_ORACLE_API_TOKEN=...``); the CLI passes the flags it was given as keyword arguments,
which win over the environment. The node and the API each take the part they need, as the
base classes `NodeConfig` and `ApiSettings`, so tests build those alone and an
`OracleSettings` is accepted wherever either is.

Where the chain, the keys and the deployments are defaults to what `jl` uses: the RPC URL of
the devnet `jl devnet up` runs, keystores by `jl account` name and the deployments file under
``$JL_HOME`` (`jouleledger.home`). The CLI resolves those defaults at its edge; a setting
given here wins.

The keystore passwords are not settings: they are read from ``JL_ORACLE_PASSWORD`` and
``JL_PROVIDER_PASSWORD``, else `jl`'s ``JL_PASSWORD`` (or a prompt), only when a keystore is
opened.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Final

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from .metering import MeterChoice

ENV_PREFIX: Final = "JL_ORACLE_"
API_TOKEN_ENV: Final = f"{ENV_PREFIX}API_TOKEN"


class NodeConfig(BaseModel):
    """How the node works. Times in seconds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    batch_size: int = Field(default=16, ge=1, le=1000, description="jobs per settle transaction")
    batch_delay_s: float = Field(
        default=30.0, ge=0, le=86_400, description="longest a signed job waits for its batch"
    )
    poll_interval_s: float = Field(
        default=2.0, gt=0, le=3600, description="how often an idle node looks for jobs"
    )
    withdraw_interval_s: float = Field(
        default=60.0, gt=0, le=86_400, description="how often due payments are withdrawn"
    )
    claim_jobs: bool = Field(
        default=True, description="claim jobs off the queue (else only on request)"
    )
    gpus: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(),
        description="GPUs jobs run on, one job each at a time, by UUID or meter index "
        "(JL_ORACLE_GPUS=0,1 or GPU-...); empty: every GPU the meter finds",
    )
    max_attempts: int = Field(default=3, ge=1, description="runs of a failing job before giving up")
    backoff_initial_s: float = Field(default=0.5, gt=0, description="first retry delay")
    backoff_max_s: float = Field(default=30.0, gt=0, description="longest retry delay")

    @field_validator("gpus", mode="before")
    @classmethod
    def _split_gpus(cls, value: Any) -> Any:
        """``"0,GPU-ab12"`` (the environment's form) as a tuple; an int as its text."""
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        if isinstance(value, list | tuple):
            return tuple(str(part).strip() for part in value)
        return value


class ApiSettings(BaseModel):
    """What the HTTP layer needs to know.

    Attributes:
        api_token: the bearer token write endpoints require; None disables them (403).
        max_page: the most jobs one ``GET /jobs`` page returns.
    """

    model_config = ConfigDict(frozen=True)

    api_token: SecretStr | None = None
    max_page: int = Field(default=1000, ge=1)

    @field_validator("api_token")
    @classmethod
    def _empty_is_none(cls, value: SecretStr | None) -> SecretStr | None:
        """An empty token (``JL_ORACLE_API_TOKEN=``) disables the write endpoints too."""
        return value if value is not None and value.get_secret_value() else None


class OracleSettings(BaseSettings, NodeConfig, ApiSettings):
    """Every setting of ``jl-oracle serve``: where the chain, keys and files are, which meter,
    the HTTP address, and (inherited) the node's and the API's settings."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    rpc: str | None = Field(
        default=None,
        description="Ethereum JSON-RPC URL (default: $JL_RPC, else the devnet `jl devnet up` "
        "runs, else http://127.0.0.1:8545, as for `jl`)",
    )
    keystore: Path | None = Field(
        default=None,
        description="the oracle key's keystore: a file, or a `jl account` name (a file under "
        "$JL_HOME/keystores)",
    )
    provider_keystore: Path | None = Field(
        default=None,
        description="the provider account's keystore, a file or a name (default: the oracle key)",
    )
    deployments: Path | None = Field(
        default=None,
        description="addresses per chain id (default: $JL_HOME/deployments.json, where "
        "`jl devnet up` and `jl deploy` record them)",
    )
    db: Path = Field(default=Path("jl-oracle.sqlite"), description="the node's SQLite database")
    specs: Path | None = Field(default=None, description="spec registry (default <db>.specs.json)")
    meter: MeterChoice = Field(default="auto", description="energy meter")
    seed: int = Field(default=0, description="the simulated meter's noise seed")
    simulated_gpus: int = Field(
        default=1, ge=1, le=64, description="how many GPUs the simulated meter has"
    )
    simulate_as: str | None = Field(default=None, description="GPU class to simulate instead")
    host: str = Field(default="127.0.0.1", description="HTTP API address")
    port: int = Field(default=8600, ge=0, le=65535, description="HTTP API port")
    log_level: str = Field(default="info", description="debug, info, warning or error")

    @property
    def specs_path(self) -> Path:
        """The spec registry file: `specs`, or ``<db>.specs.json`` next to the database."""
        return self.specs if self.specs is not None else Path(f"{self.db}.specs.json")

    def node_config(self) -> NodeConfig:
        """The node's part of these settings, as the plain model the node takes."""
        return NodeConfig.model_validate(self.model_dump(include=set(NodeConfig.model_fields)))
