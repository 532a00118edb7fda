"""``/specs``: the job specs this node knows by hash (the chain holds only the hash)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response, status

from ..runner import JobSpec
from .deps import Authorized, NodeDep
from .models import Problem, SpecList, SpecOut

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
    """Every registered spec, and the default spec run for jobs whose hash is unknown."""
    default = node.specs.default
    return SpecList(
        specs=[_out(spec) for _, spec in node.specs.items()],
        default=_out(default) if default is not None else None,
    )


@router.get(
    "/{spec_hash}",
    summary="One spec",
    response_model=SpecOut,
    responses={404: {"model": Problem, "description": "not registered"}},
)
def get_spec(spec_hash: SpecHashPath, node: NodeDep) -> SpecOut:
    """The registered spec with this hash."""
    spec = node.specs.get(spec_hash)
    if spec is None:
        raise HTTPException(
            status.HTTP_404_NOT_FOUND, f"spec {spec_hash.lower()} is not registered"
        )
    return _out(spec)


@router.post(
    "",
    summary="Register a spec",
    response_model=SpecOut,
    status_code=status.HTTP_201_CREATED,
    dependencies=[Authorized],
    responses={
        200: {"model": SpecOut, "description": "already registered"},
        400: {"model": Problem, "description": "the body cannot be parsed"},
        401: {"model": Problem, "description": "missing or wrong API token"},
        403: {"model": Problem, "description": "write endpoints are disabled"},
        409: {"model": Problem, "description": "the registry is full"},
        422: {"description": "malformed spec, unknown workload, bad inputs, or not allowed"},
    },
)
def register_spec(spec: JobSpec, node: NodeDep, response: Response) -> SpecOut:
    """Register a job spec so that jobs posted with its hash run it. Idempotent. A job whose
    spec hash is not registered when the node runs it gets the node's default spec."""
    known = node.specs.get(spec.spec_hash()) is not None
    node.specs.add(spec)
    if known:
        response.status_code = status.HTTP_200_OK
    return _out(spec)
