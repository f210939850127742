"""``config.yml`` is validated whole: every section typed, an unknown section or key refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.settings import DEFAULT_CONFIG_PATH, ConfigError, load_config


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_shipped_config_loads_into_typed_sections() -> None:
    config = load_config(DEFAULT_CONFIG_PATH)
    # The sections services read, each its own model (values from config.yml, not defaults).
    assert config.handoff.ticket_category == "other"
    assert config.agents.argon2_time_cost == 3
    assert config.outbox.global_per_second == 30
    assert config.console.session_cookie == "tamin_console"
    assert config.nlu["classifier"] == "svm"


def test_a_misspelt_section_is_refused_by_name(tmp_path: Path) -> None:
    path = _write(tmp_path, "handof:\n  transcript_messages: 5\n")
    with pytest.raises(ConfigError, match=r"handof: unknown key"):
        load_config(path)


def test_a_misspelt_key_is_refused_with_its_section(tmp_path: Path) -> None:
    path = _write(tmp_path, "handoff:\n  transcript_mesages: 5\noutbox:\n  batch_size: 0\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    message = str(raised.value)
    assert "handoff.transcript_mesages: unknown key" in message
    # Every problem is named, not only the first.
    assert "outbox.batch_size: Input should be greater than or equal to 1" in message


def test_a_section_left_out_takes_its_defaults(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, "sandbox:\n  port: 9001\n"))
    assert config.sandbox.port == 9001
    assert config.sandbox.host == "127.0.0.1"
    assert config.handoff.transcript_messages == 10
