"""The command line, run as a real subprocess: python -m nlu parse | evaluate | train."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from nlu import NluModel
from nlu.settings import PROJECT_ROOT


def run_cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT), "PYTHONIOENCODING": "ascii"}
    return subprocess.run(
        [sys.executable, "-m", "nlu", *args],
        input=stdin.encode("utf-8"),
        capture_output=True,
        cwd=PROJECT_ROOT,
        env=env,
        timeout=120,
        check=False,
    )


def test_parse_reads_lines_and_writes_rasa_json_lines(
    nlu_model: NluModel, model_dir: Path
) -> None:
    lines = ["سلام، بیمه‌ام فعاله؟", "", "پیگیری ۱۴۲۰-۱۲۳۴۵۶", "كد ملي ٠٨٣٠١٦٦١٣٠"]
    done = run_cli("parse", "--model-dir", str(model_dir), stdin="\n".join(lines) + "\n")
    assert done.returncode == 0, done.stderr.decode()
    out = done.stdout.decode("utf-8").splitlines()
    assert len(out) == 3  # the blank line is skipped
    parsed = [json.loads(line) for line in out]
    assert [p["text"] for p in parsed] == [lines[0], lines[2], lines[3]]
    assert "سلام" in out[0]  # UTF-8, not \u escapes, even with an ASCII locale
    for item in parsed:
        assert set(item) >= {"text", "intent", "entities", "intent_ranking"}
        assert item == nlu_model.parse(item["text"]).to_rasa_dict()
    assert parsed[1]["entities"][0]["value"] == "1420-123456"
    assert parsed[2]["entities"][0]["value"] == "0830166130"


def test_evaluate_writes_reports_and_a_confusion_matrix(
    nlu_model: NluModel, model_dir: Path, tmp_path: Path
) -> None:
    done = run_cli("evaluate", "--model-dir", str(model_dir), "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr.decode()
    stdout = done.stdout.decode("utf-8")
    assert "intent_accuracy" in stdout and "check_eligibility" in stdout
    report = json.loads((tmp_path / "intent_report.json").read_text(encoding="utf-8"))
    assert {"precision", "recall", "f1-score", "support", "confused_with"} <= set(
        report["track_ticket"]
    )
    assert json.loads((tmp_path / "entity_report.json").read_text(encoding="utf-8"))["mobile"]
    errors = json.loads((tmp_path / "intent_errors.json").read_text(encoding="utf-8"))
    assert all({"text", "intent", "intent_prediction"} <= set(e) for e in errors)
    png = (tmp_path / "intent_confusion_matrix.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000


def test_evaluate_accepts_a_single_file(model_dir: Path, tmp_path: Path) -> None:
    test_file = PROJECT_ROOT / "nlu" / "data" / "test" / "entities.yml"
    done = run_cli(
        "evaluate", "--model-dir", str(model_dir), "--data", str(test_file), "--out", str(tmp_path)
    )
    assert done.returncode == 0, done.stderr.decode()
    summary = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert summary["entity_precision"] >= 0.98 and summary["entity_recall"] >= 0.98


def test_train_writes_a_model(tmp_path: Path) -> None:
    config = tmp_path / "config.yml"
    # A small configuration keeps the test quick; the command is what is under test.
    config.write_text("nlu:\n  calibration_folds: 2\n  char_ngram_max: 3\n", encoding="utf-8")
    done = run_cli("train", "--config", str(config), "--model-dir", str(tmp_path / "m"))
    assert done.returncode == 0, done.stderr.decode()
    assert "check_eligibility" in json.loads(done.stdout.decode("utf-8"))["intents"]
    assert (tmp_path / "m" / "labels.json").exists()
    metadata = json.loads((tmp_path / "m" / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["settings"]["char_ngram_max"] == 3
