"""Run every ``benchmarks/*_bench.py`` module's ``main()``, or only those named on the command line.

Usage: ``python -m benchmarks [NAME ...]`` where NAME is a module name with or without the
``_bench`` suffix (``python -m benchmarks registry``).
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from collections.abc import Sequence
from pathlib import Path


def discover() -> list[str]:
    """Return the names of the benchmark modules, sorted."""
    here = Path(__file__).resolve().parent
    return sorted(m.name for m in pkgutil.iter_modules([str(here)]) if m.name.endswith("_bench"))


def main(argv: Sequence[str] | None = None) -> int:
    wanted = list(sys.argv[1:] if argv is None else argv)
    names = discover()
    if wanted:
        chosen = [n for n in names if n in wanted or n.removesuffix("_bench") in wanted]
        unknown = [w for w in wanted if w not in names and f"{w}_bench" not in names]
        if unknown:
            print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(names)}")
            return 2
        names = chosen
    status = 0
    for name in names:
        print(f"=== {name}", flush=True)
        started = time.perf_counter()
        module = importlib.import_module(f"benchmarks.{name}")
        result = module.main()
        if isinstance(result, int) and result != 0:
            status = result
        print(f"=== {name} done in {time.perf_counter() - started:.1f} s\n", flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
