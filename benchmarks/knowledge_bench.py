"""Knowledge base benchmark: retrieval latency p50/p99 with 1 000 entries, build time, memory.

The real entries of ``knowledge/`` are topped up to 1 000 with SYNTHETIC ones (``synthetic-NNNN``)
whose variants recombine the real variants' halves, so the vocabulary and the variant lengths
are the real ones'; the rejection lines (the NLU's out-of-scope training lines) are indexed as in
production. Questions: every real variant and every rejection line, so both the answered and the
rejected path are timed. Target (issue 16): p99 ≤ 5 ms. Printed, not
asserted. Run: ``python -m benchmarks knowledge``.
"""

from __future__ import annotations

import gc
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TOTAL_ENTRIES = 1000


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def main() -> int:
    import psutil

    from services.knowledge import (
        Entry,
        KnowledgeConfig,
        build_index,
        load_entries,
        load_rejections,
    )

    process = psutil.Process()
    config = KnowledgeConfig()
    started = time.perf_counter()
    loaded = load_entries(config.directory)
    rejections = load_rejections(config.rejection_files)
    load_s = time.perf_counter() - started
    real = [e for e in loaded.entries if e.served]
    variants = [q for e in real for q in e.questions]

    rng = random.Random(1420)
    synthetic: list[Entry] = []
    for n in range(TOTAL_ENTRIES - len(real)):
        template = real[n % len(real)]
        questions = []
        for _ in range(len(template.questions)):
            first, second = rng.choice(variants).split(), rng.choice(variants).split()
            words = first[: max(1, len(first) // 2)] + second[len(second) // 2 :]
            questions.append(" ".join(words))
        synthetic.append(
            template.model_copy(
                update={
                    "id": f"synthetic-{n:04d}",
                    "title": "مصنوعی",
                    "questions": tuple(questions),
                }
            )
        )
    entries = [*real, *synthetic]

    gc.collect()
    rss_before = process.memory_info().rss
    started = time.perf_counter()
    index = build_index(entries, config, rejections)
    build_s = time.perf_counter() - started
    gc.collect()
    rss_after = process.memory_info().rss
    # Again under tracemalloc (slower, so not timed): what the index keeps, and the peak.
    tracemalloc.start()
    kept = build_index(entries, config, rejections)
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    started = time.perf_counter()
    real_index = build_index(real, config, rejections)
    real_build_s = time.perf_counter() - started

    questions = variants + list(rejections)
    for question in questions[:300]:  # warm the word cache and numpy's first calls
        index.search(question)
    latencies: list[float] = []
    for _ in range(3):
        for question in questions:
            t = time.perf_counter_ns()
            index.search(question)
            latencies.append((time.perf_counter_ns() - t) / 1e6)
    best_of: list[float] = []
    for question in questions:
        runs = []
        for _ in range(5):
            t = time.perf_counter_ns()
            index.search(question)
            runs.append((time.perf_counter_ns() - t) / 1e6)
        best_of.append(min(runs))
    real_latencies = []
    for question in questions:
        t = time.perf_counter_ns()
        real_index.search(question)
        real_latencies.append((time.perf_counter_ns() - t) / 1e6)

    print(
        f"entries: {len(real)} real approved + {len(synthetic)} SYNTHETIC = {len(entries)}, "
        f"{index.n_variants} indexed variants (titles included)"
    )
    print(
        f"load and validate knowledge/ ({len(loaded.entries)} files) and the "
        f"{len(rejections)} rejection lines: {load_s:.3f} s"
    )
    print(
        f"index build: {build_s:.2f} s for {len(entries)} entries, "
        f"{real_build_s:.2f} s for the {len(real)} real ones"
    )
    print(
        f"memory: the index of {len(entries)} entries keeps {retained / 2**20:.1f} MiB "
        f"(peak while building {peak / 2**20:.1f} MiB); process RSS grew "
        f"{(rss_after - rss_before) / 2**20:.1f} MiB to {rss_after / 2**20:.0f} MiB"
    )
    print(
        f"retrieval, {len(entries)} entries, {len(latencies)} searches of {len(questions)} "
        f"questions: p50 {_percentile(latencies, 50):.3f} ms, "
        f"p99 {_percentile(latencies, 99):.3f} ms, max {max(latencies):.3f} ms, "
        f"mean {statistics.fmean(latencies):.3f} ms (target p99 ≤ 5 ms)"
    )
    print(
        f"  best of five per question: p50 {_percentile(best_of, 50):.3f} ms, "
        f"p99 {_percentile(best_of, 99):.3f} ms"
    )
    print(
        f"retrieval, {len(real)} real entries only: p50 {_percentile(real_latencies, 50):.3f} ms, "
        f"p99 {_percentile(real_latencies, 99):.3f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
