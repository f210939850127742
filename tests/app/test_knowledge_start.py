"""``tamin-bot run`` refuses to start on an invalid knowledge folder, naming every bad file."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app.cli import main
from services.settings import DEFAULT_CONFIG_PATH


def test_an_invalid_knowledge_folder_stops_the_start_naming_the_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "kb" / "area"
    folder.mkdir(parents=True)
    (folder / "broken.yml").write_text("id: broken\nquestions: [unclosed\n", encoding="utf-8")
    (folder / "nosource.yml").write_text(
        "id: nosource\ntitle: t\nstatus: approved\ntags: []\nquestions: [q]\nanswer: a\n"
        "valid_from: 2024-01-01\nreview_by: 2027-01-01\nuncertain: false\n",
        encoding="utf-8",
    )
    config = yaml.safe_load(DEFAULT_CONFIG_PATH.read_text(encoding="utf-8"))
    config["knowledge"]["directory"] = str(tmp_path / "kb")
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'tamin.db'}")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "1234567:TEST-never-used-000000000000000")

    assert main(["--config", str(path), "run"]) == 2

    error = capsys.readouterr().err
    assert "not started" in error
    assert "kb/area/broken.yml: is not valid YAML" in error
    assert "kb/area/nosource.yml: source: Field required" in error
