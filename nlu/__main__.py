"""Command line of the NLU: ``python -m nlu train | parse | evaluate | tune | lint | serve``.

- ``train`` trains on the data folder and persists the model;
- ``parse`` reads one message per line on stdin and writes one JSON object per line in the shape
  of Rasa's ``/model/parse`` answer;
- ``evaluate`` scores the model on the held-out split and the blind set, side by side, and
  writes Rasa-like reports and a confusion-matrix PNG per set;
- ``tune`` chooses the out-of-scope threshold, the gate's threshold, the out-of-scope bias and the
  ambiguity margin by
  cross-validation on the training data (``--compare``: model variants side by side);
- ``lint`` checks the training data (duplicates across intents, intents under their minimum,
  over-long lines, lines of a test set);
- ``serve`` runs ``POST /model/parse`` over HTTP.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nlu.settings import DEFAULT_REPORT_DIR, DEFAULT_TEST_DIR, read_config_section


def _settings_section(args: argparse.Namespace) -> dict[str, Any]:
    section = read_config_section(Path(args.config) if args.config else None)
    if args.data_dir:
        section["data"] = [str(Path(p).resolve()) for p in args.data_dir]
    return section


def _model(args: argparse.Namespace, *, force_train: bool = False) -> Any:
    from nlu.model import load_or_train

    return load_or_train(_settings_section(args), args.model_dir, force_train=force_train)


def _cmd_train(args: argparse.Namespace) -> int:
    model = _model(args, force_train=True)
    print(
        json.dumps(
            {"intents": model.labels, "examples": model.metadata.get("examples")},
            ensure_ascii=False,
        )
    )
    return 0


def _cmd_parse(args: argparse.Namespace) -> int:
    model = _model(args)
    stdin = io.TextIOWrapper(sys.stdin.buffer, encoding="utf-8", errors="replace")
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", write_through=True)
    for raw in stdin:
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        out.write(json.dumps(model.parse(line).to_rasa_dict(), ensure_ascii=False) + "\n")
    out.flush()
    return 0


def _cmd_evaluate(args: argparse.Namespace) -> int:
    from nlu.evaluate import (
        evaluate,
        find_test_sets,
        format_side_by_side,
        format_table,
        load_test_examples,
        write_report,
    )

    model = _model(args)
    if args.data:
        sets = [(Path(p).stem or Path(p).name, [Path(p)]) for p in args.data]
    else:
        test_dir = Path(args.test_dir) if args.test_dir else DEFAULT_TEST_DIR
        sets = find_test_sets(test_dir)
        if not sets:
            raise SystemExit(f"no test set in {test_dir}")
    out_dir = Path(args.out) if args.out else DEFAULT_REPORT_DIR
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", write_through=True)
    reports = []
    for name, paths in sets:
        report = evaluate(model, load_test_examples(paths), name)
        write_report(report, out_dir / name)
        reports.append(report)
        out.write(f"== {name}: {', '.join(str(p) for p in paths)}\n")
        out.write(format_table(report) + "\n\n")
    out.write(format_side_by_side(reports) + "\n")
    out.write(f"\nreports and intent_confusion_matrix.png per set written to {out_dir}/<set>/\n")
    out.flush()
    return 0


def _cmd_tune(args: argparse.Namespace) -> int:
    from nlu.settings import NluSettings
    from nlu.training_data import load_training_data
    from nlu.tune import (
        VARIANTS,
        bound_cost,
        choose_tail_weight,
        compare,
        cross_validated_proba,
    )
    from nlu.tune_report import format_comparison, format_result, format_tail_weights

    settings = NluSettings.from_section(_settings_section(args))
    data = load_training_data(settings.data_paths)
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", write_through=True)
    if args.compare is not None:
        unknown = set(args.compare) - set(VARIANTS)
        if unknown:
            raise SystemExit(f"unknown variants {sorted(unknown)}; known: {sorted(VARIANTS)}")
        results = compare(data, settings, args.compare or None, args.folds, args.repeats)
        out.write(format_comparison(results) + "\n")
        return 0
    oof = cross_validated_proba(data, settings, args.folds, args.repeats)
    weight, by_weight = choose_tail_weight(oof, settings)
    result = dict(by_weight)[weight]
    out.write(format_result(result, oof.blended(weight), settings) + "\n\n")
    out.write(format_tail_weights(by_weight, weight) + "\n")
    out.write(f"tail_weight: {weight:.2f}\n")
    # The same choice without the out_of_scope bias, to show what it earns.
    plain, plain_by_weight = choose_tail_weight(oof, settings, biases=(0.0,))
    f = dict(plain_by_weight)[plain].at_threshold
    out.write(
        f"without the bias: tail {plain:.2f}, threshold {f.threshold:.2f}, gate "
        f"{f.gate_threshold:.2f}: accuracy {f.accuracy:.4f}, in-domain "
        f"{f.in_domain_accuracy:.4f}, rejected {f.oos_rejection:.4f}, wrongly "
        f"{f.false_rejection:.4f}, cost {bound_cost(f, settings):.3f} (with it: "
        f"{bound_cost(result.at_threshold, settings):.3f})\n"
    )
    return 0


def _cmd_lint(args: argparse.Namespace) -> int:
    from nlu.lint import format_result, lint, read_test_lines
    from nlu.settings import NluSettings
    from nlu.training_data import load_training_data

    settings = NluSettings.from_section(_settings_section(args))
    data = load_training_data(settings.data_paths)
    tests = [Path(p) for p in args.test] if args.test else [DEFAULT_TEST_DIR]
    result = lint(data, read_test_lines(tests), settings)
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", write_through=True)
    out.write(format_result(result, settings) + "\n")
    return 0 if result.ok else 1


def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from nlu.server import create_nlu_app

    uvicorn.run(create_nlu_app(_model(args)), host=args.host, port=args.port)
    return 0


def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="config.yml whose nlu: section to use")
    common.add_argument("--model-dir", help="model folder (default: nlu.model_dir in config)")
    common.add_argument(
        "--data-dir", action="append", help="training data file or folder (repeatable)"
    )
    common.add_argument("-v", "--verbose", action="store_true", help="log progress")
    parser = argparse.ArgumentParser(prog="python -m nlu", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("train", parents=[common], help="train and persist the model")
    sub.add_parser(
        "parse", parents=[common], help="stdin lines → JSON lines (Rasa /model/parse shape)"
    )
    ev = sub.add_parser(
        "evaluate", parents=[common], help="score the held-out split and the blind set"
    )
    ev.add_argument(
        "--data", action="append", help="a test file or folder, one set each (repeatable)"
    )
    ev.add_argument(
        "--test-dir",
        help=f"the held-out files and blind/ folder to score (default: {DEFAULT_TEST_DIR})",
    )
    ev.add_argument("--out", help=f"report folder (default: {DEFAULT_REPORT_DIR})")
    tune = sub.add_parser(
        "tune",
        parents=[common],
        help="choose the out-of-scope threshold and ambiguity margin by cross-validation",
    )
    tune.add_argument("--folds", type=int, help="folds (default: nlu.tune_folds in config)")
    tune.add_argument(
        "--repeats",
        type=int,
        help="cross-validations with other shuffles, pooled (default: nlu.tune_repeats)",
    )
    tune.add_argument(
        "--compare",
        nargs="*",
        metavar="VARIANT",
        help="cross-validate model variants beside the configured one (all when none named)",
    )
    lint = sub.add_parser("lint", parents=[common], help="check the training data")
    lint.add_argument(
        "--test",
        action="append",
        help=f"a test file or folder no training line may repeat (default: {DEFAULT_TEST_DIR})",
    )
    serve = sub.add_parser("serve", parents=[common], help="serve POST /model/parse over HTTP")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=5005)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    commands = {
        "train": _cmd_train,
        "parse": _cmd_parse,
        "evaluate": _cmd_evaluate,
        "tune": _cmd_tune,
        "lint": _cmd_lint,
        "serve": _cmd_serve,
    }
    return commands[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
