"""Command line of the NLU: ``python -m nlu train | parse | evaluate | serve``.

- ``train`` trains on the data folder and persists the model;
- ``parse`` reads one message per line on stdin and writes one JSON object per line in the shape
  of Rasa's ``/model/parse`` answer;
- ``evaluate`` scores the model on the held-out split and writes Rasa-like reports and a
  confusion-matrix PNG;
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
    from nlu.evaluate import evaluate, format_table, write_report
    from nlu.training_data import load_training_data

    model = _model(args)
    data_path = Path(args.data) if args.data else DEFAULT_TEST_DIR
    test = load_training_data([data_path], include_test=True)
    report = evaluate(model, test.examples)
    out_dir = Path(args.out) if args.out else DEFAULT_REPORT_DIR
    write_report(report, out_dir)
    out = io.TextIOWrapper(sys.stdout.buffer, encoding="utf-8", write_through=True)
    out.write(format_table(report) + "\n")
    out.write(f"\nreports and intent_confusion_matrix.png written to {out_dir}\n")
    out.flush()
    return 0


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
    ev = sub.add_parser("evaluate", parents=[common], help="score the held-out split")
    ev.add_argument("--data", help=f"test file or folder (default: {DEFAULT_TEST_DIR})")
    ev.add_argument("--out", help=f"report folder (default: {DEFAULT_REPORT_DIR})")
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
        "serve": _cmd_serve,
    }
    return commands[args.command](args)


if __name__ == "__main__":
    raise SystemExit(main())
