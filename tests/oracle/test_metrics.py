"""The node's Prometheus exposition and its settings: the edges operators configure and scrape."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from jouleledger_oracle.metrics import NodeMetrics, family, render
from jouleledger_oracle.settings import ApiSettings, NodeConfig, OracleSettings


def test_prometheus_text_escapes_labels_and_declares_types() -> None:
    text = render([family("x_total", "counter", "help", [(3, {"m": 'a "b"\nc\\'})])])
    assert text.splitlines() == [
        "# HELP jouleledger_oracle_x_total help",
        "# TYPE jouleledger_oracle_x_total counter",
        'jouleledger_oracle_x_total{m="a \\"b\\"\\nc\\\\"} 3.0',
    ]


def test_errors_are_counted_by_class_never_by_their_text() -> None:
    metrics = NodeMetrics()
    for n in range(50):
        metrics.error(f"chain down at block {n}", float(n), kind="ChainUnavailable")
    metrics.error("job 7: gave up", 51.0, kind="run_issue")
    assert metrics.errors_by_kind() == {"ChainUnavailable": 50, "run_issue": 1}
    _, last, at = metrics.snapshot()
    assert (last, at) == ("job 7: gave up", 51.0)


def test_settings_read_the_environment_and_flags_win(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JL_ORACLE_BATCH_SIZE", "32")
    monkeypatch.setenv("JL_ORACLE_PORT", "9000")
    monkeypatch.setenv("JL_ORACLE_API_TOKEN", "s3cret")
    settings = OracleSettings(port=9100)
    assert (settings.batch_size, settings.port) == (32, 9100)
    assert settings.api_token is not None and settings.api_token.get_secret_value() == "s3cret"
    assert settings.node_config() == NodeConfig(batch_size=32)
    assert isinstance(settings, ApiSettings)  # what create_app takes
    assert settings.specs_path == Path("jl-oracle.sqlite.specs.json")


def test_settings_defaults_are_the_node_and_api_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BATCH_SIZE", "PORT", "API_TOKEN"):
        monkeypatch.delenv(f"JL_ORACLE_{name}", raising=False)
    settings = OracleSettings()
    assert settings.node_config() == NodeConfig()
    assert settings.max_page == ApiSettings().max_page


def test_an_empty_api_token_disables_the_write_endpoints() -> None:
    assert ApiSettings.model_validate({"api_token": ""}).api_token is None


def test_a_bad_setting_in_the_environment_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JL_ORACLE_BATCH_SIZE", "0")
    with pytest.raises(ValidationError, match="batch_size"):
        OracleSettings()
