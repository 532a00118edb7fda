"""``/specs``: the job specs this node knows by hash (the chain holds only the hash)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from ..workloads import JobSpec
from .deps import NodeDep, lookup_route, not_found, write_route
from .models import SpecList, SpecOut

router = APIRouter(prefix="/specs", tags=["specs"])

SpecHashPath = Annotated[
    str,
    Path(
        pattern=r"^0x[0-9a-fA-F]{64}$",
        description="keccak256 of the spec's canonical JSON (the job's specHash)",
    ),
]


def _out(spec: JobSpec) -> SpecOut:
    return SpecOut(spec_hash=spec.spec_hash(), spec=spec.model_dump(mode="json"))


@router.get("", summary="Registered specs", response_model=SpecList)
def list_specs(node: NodeDep) -> SpecList:
    """Every registered spec, and the default spec run for jobs whose hash is unknown.

    \f
    Args:
        node: the node (dependency).
    """
    default = node.specs.default
    return SpecList(
        specs=[_out(spec) for _, spec in node.specs.items()],
        default=_out(default) if default is not None else None,
    )


@router.get("/{spec_hash}", **lookup_route("One spec", SpecOut, "not registered"))
def get_spec(spec_hash: SpecHashPath, node: NodeDep) -> SpecOut:
    """The registered spec with this hash.

    \f
    Args:
        spec_hash: the spec's hash, 0x-hex.
        node: the node (dependency).

    Raises:
        HTTPException: 404 when it is not registered.
    """
    spec = node.specs.get(spec_hash)
    if spec is None:
        raise not_found(f"spec {spec_hash.lower()} is not registered")
    return _out(spec)


@router.post(
    "",
    **write_route(
        "Register a spec",
        SpecOut,
        status.HTTP_201_CREATED,
        s200="already registered",
        s400="the body cannot be parsed",
        s409="the registry is full",
        s422="malformed spec, unknown workload, bad inputs, or not allowed",
    ),
)
def register_spec(spec: JobSpec, node: NodeDep, response: Response) -> SpecOut:
    """Register a job spec so that jobs posted with its hash run it. Idempotent. A job whose
    spec hash is not registered when the node runs it gets the node's default spec.

    \f
    Args:
        spec: the spec (body).
        node: the node (dependency).
        response: to answer 200 when it was registered already.

    Raises:
        RegistryFull: 409 (see `create_app`).
    """
    known = node.specs.get(spec.spec_hash()) is not None
    node.specs.add(spec)
    if known:
        response.status_code = status.HTTP_200_OK
    return _out(spec)
