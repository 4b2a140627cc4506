"""Benchmark: ``janus decide`` against an OpenAI-compatible server: requests per second and the
completion cache.

Workload: the demo ``synthetic-ashare`` dataset (built into a temporary workspace), every included
event of all four splits (about 2,980 prompts rendered with ``decision-v1``), decided by
``openai:test-model@URL`` where URL is the chat-completions test server of ``tests/chat_server.py``
on 127.0.0.1 (it answers at once: the numbers measure the client, the protocol and the cache, not a
model). For each concurrency: a cold run (every prompt a request) with requests per second, then a
re-run (cache hit rate, requests sent, seconds). Also the text baseline's fit-and-decide time.

Run: ``uv run --frozen python benchmarks/bench_decide.py [--concurrency 1 4 8] [--split all]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from chat_server import ChatServer  # noqa: E402

from janus_core.data.samples import build_sample  # noqa: E402
from janus_core.decide.models import DecideConfig, decide  # noqa: E402
from janus_core.paths import WorkbenchPaths  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--split", default="all", choices=("all", "historical", "train", "validation", "test"))
    args = parser.parse_args()
    split = None if args.split == "all" else args.split
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        base = WorkbenchPaths(data_dir=root / "data", manifest_dir=root / "manifests", store=root / "unused.duckdb")
        build_sample("synthetic-ashare", base, progress=False)
        t0 = time.perf_counter()
        tb = decide(DecideConfig(model="text-baseline"), base)
        print(
            f"text-baseline: fit on the train split and decide {tb.decisions.height} test events in "
            f"{time.perf_counter() - t0:.2f} s (dataset load and CAR study included)"
        )
        with ChatServer() as srv:
            for conc in args.concurrency:
                paths = base.model_copy(update={"store": root / f"cache-{conc}.duckdb"})
                cfg = DecideConfig(
                    model=f"openai:test-model@{srv.url}", split=split, endpoint={"concurrency": conc, "backoff_s": 0.0}
                )
                before = srv.requests
                cold = decide(cfg, paths)
                warm = decide(cfg, paths)
                s, w = cold.stats, warm.stats
                print(
                    f"concurrency {conc}: cold run {s.prompts} prompts, {s.requests} requests in {s.seconds:.2f} s "
                    f"= {s.requests_per_second:.0f} requests/s; re-run cache hit rate {w.cache_hit_rate:.1%}, "
                    f"{w.requests} requests, {w.seconds:.2f} s (server counted {srv.requests - before} requests)"
                )


if __name__ == "__main__":
    main()
