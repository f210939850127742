"""The command line, run as a real subprocess: python -m nlu parse | evaluate | train."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from nlu import NluModel
from nlu.settings import DEFAULT_TEST_DIR, PROJECT_ROOT


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


def _test_dir(tmp_path: Path) -> Path:
    """A test folder laid out like nlu/data/test: held-out files and a blind/ folder, made of
    held-out lines (the real blind set is not for tests)."""
    folder = tmp_path / "test"
    (folder / "blind").mkdir(parents=True)
    for name in ("intents.yml", "out_of_domain.yml", "entities.yml"):
        shutil.copy(DEFAULT_TEST_DIR / name, folder / name)
    (folder / "blind" / "styled.yml").write_text(
        'version: "3.1"\nnlu:\n'
        "- intent: check_eligibility\n  metadata:\n    style: finglish\n  examples: |\n"
        "    - estehghaghe darmane man ro check kon\n    - bimeye man faale?\n"
        "- intent: out_of_scope\n  metadata:\n    style: hard_negative\n  examples: |\n"
        "    - قیمت سهام عدالت امروز چنده\n",
        encoding="utf-8",
    )
    return folder


def test_evaluate_reports_both_sets_side_by_side(
    nlu_model: NluModel, model_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    done = run_cli(
        "evaluate",
        "--model-dir",
        str(model_dir),
        "--test-dir",
        str(_test_dir(tmp_path)),
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr.decode()
    stdout = done.stdout.decode("utf-8")
    assert "intent_accuracy" in stdout and "check_eligibility" in stdout
    header = next(line for line in stdout.splitlines() if "held-out" in line and "blind" in line)
    assert header.split() == ["held-out", "blind"]
    for row in (
        "intent accuracy",
        "intent macro-F1",
        "out-of-scope rejected",
        "in-domain wrongly rejected",
        "accuracy, style finglish",
        "accuracy, style hard_negative",
    ):
        assert row in stdout, row
    assert "worst confusions, held-out" in stdout and "worst confusions, blind" in stdout
    report = json.loads((out / "held-out" / "intent_report.json").read_text(encoding="utf-8"))
    assert {"precision", "recall", "f1-score", "support", "confused_with"} <= set(
        report["track_ticket"]
    )
    assert json.loads((out / "held-out" / "entity_report.json").read_text(encoding="utf-8"))[
        "mobile"
    ]
    errors = json.loads((out / "held-out" / "intent_errors.json").read_text(encoding="utf-8"))
    assert all({"text", "intent", "intent_prediction"} <= set(e) for e in errors)
    png = (out / "held-out" / "intent_confusion_matrix.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 20_000
    blind = json.loads((out / "blind" / "summary.json").read_text(encoding="utf-8"))
    assert blind["examples"] == 3
    assert set(blind["style_accuracy"]) == {"finglish", "hard_negative"}
    assert blind["style_accuracy"]["finglish"]["examples"] == 2


def test_evaluate_accepts_a_single_file(model_dir: Path, tmp_path: Path) -> None:
    test_file = DEFAULT_TEST_DIR / "entities.yml"
    done = run_cli(
        "evaluate", "--model-dir", str(model_dir), "--data", str(test_file), "--out", str(tmp_path)
    )
    assert done.returncode == 0, done.stderr.decode()
    summary = json.loads((tmp_path / "entities" / "summary.json").read_text(encoding="utf-8"))
    assert summary["entity_precision"] >= 0.98 and summary["entity_recall"] >= 0.98


def test_tune_prints_the_figures_and_the_chosen_values(
    small_data_dir: Path, tmp_path: Path
) -> None:
    config = tmp_path / "config.yml"
    config.write_text(
        f"nlu:\n  data: [{small_data_dir}]\n  calibration_folds: 2\n  char_ngram_max: 3\n",
        encoding="utf-8",
    )
    done = run_cli("tune", "--config", str(config), "--folds", "3", "--repeats", "2")
    assert done.returncode == 0, done.stderr.decode()
    stdout = done.stdout.decode("utf-8")
    assert "cross-validation: 3 folds" in stdout
    # Two shuffles pooled: the lines counted once, the folds trained twice.
    assert "repeated with 2 shuffles" in stdout
    assert re.search(r"^out_of_scope_threshold: 0\.\d\d ", stdout, re.MULTILINE)
    assert re.search(r"^ambiguity_margin: 0\.\d\d ", stdout, re.MULTILINE)
    # The gate's threshold, chosen with the intent threshold: one table each, and the margin's.
    assert re.search(r"^gate_threshold: 0\.\d\d$", stdout, re.MULTILINE)
    # The out_of_scope bias, chosen with them, and the figures without it.
    assert re.search(r"^out_of_scope_bias: 0\.\d\d$", stdout, re.MULTILINE)
    assert "without the bias: tail" in stdout
    assert "gate thresholds at intent threshold" in stdout
    # Four tables (thresholds, gate thresholds, biases, margins) and the tail weights'.
    assert stdout.count("<- chosen") == 5
    assert "out-of-scope lines rejected, by data file:" in stdout
    assert "tail weights (a long message's last clauses" in stdout
    assert re.search(r"^tail_weight: 0\.\d\d$", stdout, re.MULTILINE)


def test_lint_fails_on_bad_data_and_names_the_problem(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "x.yml").write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - سلام\n'
        "- intent: thanks\n  examples: |\n    - سلام!\n",
        encoding="utf-8",
    )
    tests = tmp_path / "t.yml"
    tests.write_text(
        'version: "3.1"\nnlu:\n- intent: greet\n  examples: |\n    - درود\n', encoding="utf-8"
    )
    done = run_cli("lint", "--data-dir", str(data), "--test", str(tests))
    assert done.returncode == 1
    stdout = done.stdout.decode("utf-8")
    assert "duplicate: «سلام» in 2 intents" in stdout
    assert "minimum: check_eligibility: 0 examples, at least 250" in stdout


def test_train_writes_a_model(tmp_path: Path, small_data_dir: Path) -> None:
    config = tmp_path / "config.yml"
    # A small configuration keeps the test quick; the command is what is under test.
    config.write_text("nlu:\n  calibration_folds: 2\n  char_ngram_max: 3\n", encoding="utf-8")
    done = run_cli(
        "train",
        "--config",
        str(config),
        "--data-dir",
        str(small_data_dir),
        "--model-dir",
        str(tmp_path / "m"),
    )
    assert done.returncode == 0, done.stderr.decode()
    assert "check_eligibility" in json.loads(done.stdout.decode("utf-8"))["intents"]
    assert (tmp_path / "m" / "labels.json").exists()
    metadata = json.loads((tmp_path / "m" / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["settings"]["char_ngram_max"] == 3
