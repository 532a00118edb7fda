"""The node's HTTP API over a node running against an in-memory market.

Behaviour of each endpoint, the token on write endpoints, and a schemathesis run over the
OpenAPI schema: more than a thousand generated requests, none answered with a 5xx.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import schemathesis
from eth_account import Account
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from pydantic import SecretStr
from schemathesis import Case, GenerationMode
from schemathesis.checks import positive_data_acceptance

from jouleledger_oracle.api import ApiSettings, create_app, get_settings
from jouleledger_oracle.metering import SimulatedMeter
from jouleledger_oracle.node import NodeConfig, OracleNode
from jouleledger_oracle.signer import OracleSigner, recover_signer
from jouleledger_oracle.specs import SpecRegistry
from jouleledger_oracle.store import OracleStore

from .conftest import SMALL_SPEC
from .fake_chain import FakeChain

TOKEN = "s3cret-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
MIN_REQUESTS = 1000


@dataclass
class Api:
    app: FastAPI
    client: TestClient
    node: OracleNode
    chain: FakeChain
    settled: list[int]


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    folder = tmp_path_factory.mktemp("api")
    signer = OracleSigner(Account.create().key)
    provider = Account.create().address
    chain = FakeChain(provider, signer.address, clock_offset=2)
    store = OracleStore(folder / "node.sqlite")
    node = OracleNode(
        chain=chain,
        store=store,
        meter=SimulatedMeter(),
        signer=signer,
        specs=SpecRegistry(folder / "specs.json", default=SMALL_SPEC),
        config=NodeConfig(poll_interval_s=0.02, batch_size=3, batch_delay_s=0.05),
    )
    settled = [chain.post(bid) for bid in (10, 30, 20)]
    app = create_app(node, ApiSettings(api_token=SecretStr(TOKEN)), manage_node=False)
    node.start()
    try:
        assert node.wait_until(
            lambda: all((r := store.get_job(j)) and r.state == "settled" for j in settled), 20
        ), "the first jobs did not settle"
        with TestClient(app) as client:
            yield Api(app, client, node, chain, settled)
    finally:
        node.stop(timeout=10)
        store.close()


# --- endpoints ------------------------------------------------------------------------------


def test_health_says_ok_with_the_node_identity(api: Api) -> None:
    body = api.client.get("/health").json()
    assert body["status"] == "ok" and body["node_running"] and body["recovered"]
    assert body["signer"] == api.node.signer.address
    assert body["provider"] == api.chain.provider
    assert body["meter_kind"] == "simulated"


def test_jobs_lists_the_store_newest_first_and_filters_by_state(api: Api) -> None:
    body = api.client.get("/jobs", params={"state": "settled", "limit": 2}).json()
    assert body["total"] >= 3 and body["limit"] == 2 and len(body["jobs"]) == 2
    assert all(job["state"] == "settled" for job in body["jobs"])
    updated = [job["updated_at"] for job in api.client.get("/jobs").json()["jobs"]]
    assert updated == sorted(updated, reverse=True)


def test_job_shows_measurement_attestation_and_settlement(api: Api) -> None:
    job_id = api.settled[0]
    body = api.client.get(f"/jobs/{job_id}").json()
    assert body["state"] == "settled" and body["settle_tx"].startswith("0x")
    assert body["measurement"]["meter_kind"] == "simulated"
    assert body["measurement"]["energy_mj"] > 0
    assert body["attestation"]["record"]["jobId"] == job_id


def test_attestation_is_the_same_signature_every_time_and_recovers_to_the_signer(
    api: Api,
) -> None:
    job_id = api.settled[1]
    first = api.client.get(f"/attestations/{job_id}").json()
    assert api.client.get(f"/attestations/{job_id}").json() == first
    digest, signature = bytes.fromhex(first["digest"][2:]), bytes.fromhex(first["signature"][2:])
    assert recover_signer(digest, signature) == first["signer"] == api.node.signer.address
    assert first["record"]["meterKind"] == 0  # simulated, and the record says so
    assert first["market"] == api.chain.domain.market


def test_stats_report_tokens_per_joule_energy_and_earnings_per_gpu(api: Api) -> None:
    body = api.client.get("/stats").json()
    assert body["tokens_per_joule"] > 0 and body["energy_mj"] > 0 and body["ai_tokens"] > 0
    assert body["jobs"]["settled"] >= 3
    gpu = body["gpus"][0]
    assert gpu["gpu_uuid"].startswith("SIM-") and gpu["jobs_settled"] >= 3
    assert gpu["earned_wei"] == sum(api.chain.jobs[j].payment for j in api.settled)


def test_metrics_are_prometheus_text_with_the_node_figures(api: Api) -> None:
    response = api.client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    text = response.text
    sample = re.compile(r"^[a-z_]+(\{[^}]*\})? -?[0-9.e+]+$|^# (HELP|TYPE) ")
    assert all(sample.match(line) for line in text.strip().splitlines()), text
    values = {
        line.split(" ")[0]: float(line.split(" ")[-1])
        for line in text.splitlines()
        if not line.startswith("#")
    }
    assert values['jouleledger_oracle_jobs{state="settled"}'] >= 3
    assert values["jouleledger_oracle_energy_millijoules_total"] > 0
    assert values["jouleledger_oracle_ai_tokens_total"] > 0
    assert values["jouleledger_oracle_attestations_signed_total"] >= 3
    assert values["jouleledger_oracle_settle_transactions_total"] >= 1
    assert values["jouleledger_oracle_up"] == 1
    assert "jouleledger_oracle_last_error_timestamp_seconds" in values


# --- writes and the token -------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}]
)
def test_write_endpoints_answer_401_without_the_right_token(
    api: Api, headers: dict[str, str]
) -> None:
    for method, path, body in (
        ("POST", "/jobs/1/run", None),
        ("POST", "/specs", {"workload": "x"}),
    ):
        response = api.client.request(method, path, headers=headers, json=body)
        assert response.status_code == 401, response.text
        assert "API token" in response.json()["detail"]
        assert response.headers["www-authenticate"] == "Bearer"


def test_write_endpoints_are_disabled_without_a_configured_token(api: Api) -> None:
    api.app.dependency_overrides[get_settings] = lambda: ApiSettings(api_token=None)
    try:
        response = api.client.post("/jobs/1/run", headers=AUTH)
    finally:
        api.app.dependency_overrides.clear()
    assert response.status_code == 403 and "disabled" in response.json()["detail"]


def test_run_request_for_a_measured_job_answers_known(api: Api) -> None:
    response = api.client.post(f"/jobs/{api.settled[0]}/run", headers=AUTH)
    assert response.status_code == 200
    assert response.json()["status"] == "known"


def test_run_request_claims_and_runs_a_job_designated_to_this_provider(api: Api) -> None:
    job_id = api.chain.post(0, designated=api.chain.provider)
    response = api.client.post(f"/jobs/{job_id}/run", headers=AUTH)
    assert response.status_code in (200, 202), response.text  # the node may have claimed it
    assert api.node.wait_until(lambda: api.node.store.get_attestation(job_id) is not None, 20)
    assert api.client.get(f"/attestations/{job_id}").status_code == 200


def test_run_request_refuses_jobs_that_are_not_this_providers(api: Api) -> None:
    other = Account.create().address
    theirs = api.chain.post(0, designated=other)
    response = api.client.post(f"/jobs/{theirs}/run", headers=AUTH)
    assert response.status_code == 409
    assert other in response.json()["detail"]
    unknown = api.client.post("/jobs/999999/run", headers=AUTH)
    assert unknown.status_code == 404 and "does not exist" in unknown.json()["detail"]


def test_run_request_while_the_chain_is_down_is_a_503_to_retry(api: Api) -> None:
    api.chain.unreadable_jobs.add(424242)
    response = api.client.post("/jobs/424242/run", headers=AUTH)
    assert response.status_code == 503 and response.headers["retry-after"] == "5"
    assert "down" in response.json()["detail"]


def test_specs_can_be_registered_once_and_bad_ones_are_refused_with_a_reason(api: Api) -> None:
    spec = {"workload": "token-generation", "inputs": {"max_new_tokens": 5, "device": "cpu"}}
    created = api.client.post("/specs", json=spec, headers=AUTH)
    assert created.status_code == 201
    spec_hash = created.json()["spec_hash"]
    assert api.client.post("/specs", json=spec, headers=AUTH).status_code == 200
    assert api.client.get(f"/specs/{spec_hash}").json()["spec"]["inputs"]["max_new_tokens"] == 5
    shell = {"workload": "shell", "inputs": {"command": ["true"]}}
    refused = api.client.post("/specs", json=shell, headers=AUTH)
    assert refused.status_code == 422 and "not allowed" in refused.json()["detail"][0]["msg"]
    bad = api.client.post("/specs", json={"workload": "token-generation", "inputs": {"n": 1}})
    assert bad.status_code == 401
    bad = api.client.post(
        "/specs", json={"workload": "token-generation", "inputs": {"n": 1}}, headers=AUTH
    )
    assert bad.status_code == 422 and "invalid inputs" in bad.json()["detail"][0]["msg"]


@pytest.mark.parametrize(
    "path",
    [
        "/jobs/-1",
        "/jobs/abc",
        f"/jobs/{2**256}",
        "/jobs/" + "9" * 5000,
        "/attestations/1.5",
        "/specs/0x1234",
        "/jobs?limit=0",
        "/jobs?state=lost",
        "/jobs?offset=-3",
    ],
)
def test_malformed_input_is_a_4xx_with_a_message(api: Api, path: str) -> None:
    response = api.client.get(path)
    assert 400 <= response.status_code < 500
    assert response.json()["detail"]


def test_openapi_documents_every_endpoint(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    assert set(paths) >= {
        "/health",
        "/metrics",
        "/jobs",
        "/jobs/{job_id}",
        "/jobs/{job_id}/run",
        "/attestations/{job_id}",
        "/stats",
        "/specs",
        "/specs/{spec_hash}",
    }
    assert api.client.get("/docs").status_code == 200


# --- property-based: schemathesis over the OpenAPI schema ------------------------------------

# Per operation and generation mode (schema-valid and schema-breaking requests): ten operations,
# six of which take input, so about 6 x 2 x 100 requests, less the duplicates Hypothesis skips.
EXAMPLES_PER_MODE = 100


def test_schemathesis_requests_never_get_a_5xx_and_match_the_schema(api: Api) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.app)
    sent: dict[str, int] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 10
    for operation in operations:
        for mode in GenerationMode:

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES_PER_MODE,
                deadline=None,
                derandomize=True,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            def check(case: Case) -> None:
                key = f"{case.method} {case.path}"
                sent[key] = sent.get(key, 0) + 1
                response = case.call(headers=AUTH)
                assert response.status_code < 500, (
                    f"{key} {case.path_parameters} {case.query} {case.body!r} -> "
                    f"{response.status_code}: {response.text[:300]}"
                )
                # A spec that fits the schema can still name a workload this node does not
                # allow or inputs its workload refuses: 422 with the reason is right there.
                semantic = key == "POST /specs"
                case.validate_response(
                    response,
                    headers=AUTH,
                    excluded_checks=[positive_data_acceptance] if semantic else None,
                )

            try:
                check()
            except Unsatisfiable:
                # Nothing to break: an operation without parameters or body.
                assert mode is GenerationMode.NEGATIVE, operation.label
    print(f"schemathesis: {sum(sent.values())} requests over {len(sent)} operations")
    assert sum(sent.values()) >= MIN_REQUESTS, sent
