"""NLU benchmark: prints parse latency p50/p99, batch throughput, load time, training time and
the resident memory of a fresh process holding the model.

Targets (issue 3): p99 ≤ 2 ms per message, load ≤ 1 s, RSS ≤ 150 MB. The figures are printed,
not asserted: timing in tests is flaky, a benchmark is read by people.
Run: ``python -m benchmarks`` (all benchmarks) or ``python benchmarks/nlu_bench.py``.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

# Runs in a fresh interpreter so that import, load and memory are measured as a worker sees them.
_CHILD = """
import json, sys, time
t0 = time.perf_counter()
import psutil
from nlu import NluModel
from nlu.settings import NluSettings, read_config_section
t1 = time.perf_counter()
settings = NluSettings.from_section(read_config_section())
model = NluModel.load(sys.argv[1], settings)
t2 = time.perf_counter()
model.parse("سلام، بیمه‌ام فعاله؟")
rss = psutil.Process().memory_info().rss
print(json.dumps({"import_s": t1 - t0, "load_s": t2 - t1, "rss_bytes": rss}))
"""


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def main() -> int:
    from nlu import NluModel
    from nlu.settings import DEFAULT_TEST_DIR, NluSettings, read_config_section
    from nlu.training_data import load_training_data

    settings = NluSettings.from_section(read_config_section())
    data = load_training_data(settings.data_paths)
    texts = [e.text for e in load_training_data([DEFAULT_TEST_DIR], include_test=True).examples]

    started = time.perf_counter()
    model = NluModel.train(data, settings)
    train_s = time.perf_counter() - started

    for text in texts[:200]:  # warm caches and lazy imports
        model.parse(text)
    latencies: list[float] = []
    rounds = 4
    for _ in range(rounds):
        for text in texts:
            t = time.perf_counter_ns()
            model.parse(text)
            latencies.append((time.perf_counter_ns() - t) / 1e6)

    # The same messages, each timed five times keeping the fastest: the parser's own cost with
    # the scheduler's noise (other processes on a 2-core machine) taken out.
    best_of: list[float] = []
    for text in texts:
        runs = []
        for _ in range(5):
            t = time.perf_counter_ns()
            model.parse(text)
            runs.append((time.perf_counter_ns() - t) / 1e6)
        best_of.append(min(runs))

    batch_runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        model.parse_batch(texts)
        batch_runs.append(time.perf_counter() - t0)
    throughput = len(texts) / min(batch_runs)

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = Path(tmp) / "model"
        model.persist(model_dir)
        size_kb = sum(p.stat().st_size for p in model_dir.iterdir()) / 1024
        loads = []
        for _ in range(3):
            done = subprocess.run(
                [sys.executable, "-c", _CHILD, str(model_dir)],
                capture_output=True,
                check=True,
                cwd=ROOT,
                text=True,
                encoding="utf-8",
            )
            loads.append(json.loads(done.stdout))

    print("== NLU (nlu/): intent classifier + rule entity extractors")
    print(f"training examples               {len(data.examples)}")
    print(f"training time                   {train_s:.2f} s")
    print(f"messages timed                  {len(latencies)} ({len(texts)} test lines x {rounds})")
    print(f"parse latency p50               {statistics.median(latencies):.3f} ms")
    print(f"parse latency p99               {_percentile(latencies, 99):.3f} ms   (aim <= 2 ms)")
    print(f"parse latency max               {max(latencies):.3f} ms")
    print(
        f"best-of-5 per message p50 / p99 {statistics.median(best_of):.3f} / "
        f"{_percentile(best_of, 99):.3f} ms"
    )
    print(f"load average during the run     {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"batch throughput                {throughput:,.0f} messages/s (batch of {len(texts)})")
    print(f"model size on disk              {size_kb:,.0f} KiB")
    print(f"import time (fresh process)     {min(r['import_s'] for r in loads):.3f} s")
    print(
        f"model load time                 {min(r['load_s'] for r in loads):.3f} s   (aim <= 1 s)"
    )
    rss_mb = min(r["rss_bytes"] for r in loads) / 2**20
    print(f"RSS, fresh process with model   {rss_mb:.0f} MiB   (aim <= 150 MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
