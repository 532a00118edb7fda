"""From a measured job to the usage record the oracle signs, and back from the store.

The node saves a `Measurement` (the signed fields plus context: which GPU, which spec, how the
energy was measured) in the store *before* it signs, and always builds the record to sign from
the stored copy (`usage_record`), so a node restarted after a crash signs the same record
again (see `jouleledger_oracle.store`). The record itself is the SDK's `UsageRecord`; its
EIP-712 digest comes from `jouleledger.records`, the same builder the contract is tested
against.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import fields as dataclass_fields
from typing import Any, Literal

from eth_typing import ChecksumAddress
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from jouleledger.records import UsageRecord

from .errors import StoreError
from .metering import MeterKindName, record_meter_kind
from .workloads import JobResult

SpecSource = Literal["registry", "default"]
"""Where the spec a job ran came from: the node's registry (its hash is the job's spec hash)
or the node's default spec (the job's spec hash was unknown to the node)."""

_HASH = r"^0x[0-9a-f]{64}$"
_UINT64 = 2**64 - 1


class Measurement(BaseModel):
    """What the node stores for a measured job. The first block of fields is signed.

    Stored as plain JSON (`to_fields`) and read back with `from_fields`.
    """

    model_config = ConfigDict(frozen=True, extra="ignore")

    # --- signed: the usage record ---
    job_id: int = Field(ge=0, lt=2**256)
    provider: str = Field(pattern=r"^0x[0-9a-fA-F]{40}$")
    gpu_millis: int = Field(ge=0, le=_UINT64)
    energy_mj: int = Field(ge=0, le=_UINT64)
    ai_tokens: int = Field(ge=0, le=_UINT64)
    result_hash: str = Field(pattern=_HASH)
    start_time: int = Field(ge=0, le=_UINT64)
    end_time: int = Field(ge=0, le=_UINT64)
    meter_kind: MeterKindName
    gpu_id_hash: str = Field(pattern=_HASH)
    # --- context: not signed, kept for people and for /stats ---
    gpu_uuid: str
    gpu_index: int = Field(ge=0)
    workload: str
    spec_hash: str = Field(pattern=_HASH, description="hash of the spec that ran")
    job_spec_hash: str = Field(pattern=_HASH, description="the spec hash the job was posted with")
    spec_source: SpecSource
    backend: str
    energy_source: str
    coarse: bool
    work_millis: int = Field(ge=0)
    power_integral_mj: int | None = None
    notes: tuple[str, ...] = ()

    @classmethod
    def from_result(
        cls,
        result: JobResult,
        *,
        provider: ChecksumAddress,
        job_spec_hash: bytes,
        spec_source: SpecSource,
    ) -> Measurement:
        """The measurement of a finished job.

        Args:
            result: what `run_job` returned.
            provider: the provider the record names (the account the job was claimed by).
            job_spec_hash: the spec hash the job was posted with.
            spec_source: whether the spec came from the registry or was the default.
        """
        # Every field but the three given here has the same name on the result or its reading.
        measured = {**result.reading.model_dump(), **result.model_dump(exclude={"reading"})}
        return cls.model_validate(
            measured
            | {
                "provider": provider,
                "job_spec_hash": "0x" + job_spec_hash.hex(),
                "spec_source": spec_source,
            }
        )

    @classmethod
    def from_fields(cls, fields: Mapping[str, Any]) -> Measurement:
        """Read a stored measurement back.

        Args:
            fields: the record fields `OracleStore` returned.

        Raises:
            StoreError: the stored fields are not a measurement this node wrote.
        """
        try:
            return cls.model_validate(fields)
        except ValidationError as exc:
            raise StoreError(f"a stored measurement is malformed: {exc}") from exc

    def to_fields(self) -> dict[str, Any]:
        """Plain JSON values, for `OracleStore.save_measurement`."""
        return self.model_dump(mode="json")

    def usage_record(self) -> UsageRecord:
        """The usage record the oracle signs for this measurement: the fields named as in
        `UsageRecord` (its one definition), hashes as bytes, the meter kind as its enum."""
        convert: dict[str, Callable[[Any], Any]] = {
            "result_hash": _bytes32,
            "gpu_id_hash": _bytes32,
            "meter_kind": record_meter_kind,
        }
        return UsageRecord(
            **{
                f.name: convert.get(f.name, _same)(getattr(self, f.name))
                for f in dataclass_fields(UsageRecord)
            }
        )

    @property
    def settleable(self) -> bool:
        """Whether the market can accept the record at all (it refuses zero energy)."""
        return self.energy_mj > 0 and self.start_time <= self.end_time


def _bytes32(value: str) -> bytes:
    return bytes.fromhex(value[2:])


def _same(value: Any) -> Any:
    return value


def usage_record(fields: Mapping[str, Any]) -> UsageRecord:
    """The usage record of a stored measurement (what `OracleStore` returned).

    Args:
        fields: the stored record fields.

    Raises:
        StoreError: the stored fields are malformed.
    """
    return Measurement.from_fields(fields).usage_record()


def record_message(record: UsageRecord) -> dict[str, Any]:
    """The record as JSON: its EIP-712 message with bytes as 0x-hex.

    Args:
        record: the usage record.
    """
    return record.as_json()
