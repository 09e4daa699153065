"""Run the benchmarks and write JSON (then figures and tables) to benchmarks/results/.

    python -m benchmarks.run                       # everything but the course (what make bench runs)
    python -m benchmarks.run --only cost,pot_scaling
    python -m benchmarks.run --only course         # time the lessons (slow: runs the whole course)
    python -m benchmarks.run --quick --out /tmp/b  # smoke version with tiny budgets

Benchmarks are measurements, not tests: nothing here fails on a slow timing. Timings taken on a
shared or loaded machine are inflated; the ratios in ``cost`` are measured within one run so that
they survive some load, but final figures belong to a quiet machine.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from .common import RESULTS, log, write_json

#: name -> module; ``course`` runs only when asked for
BENCHMARKS = ("convergence", "critic_accuracy", "cost", "pot_scaling", "engine", "comparison", "course")
DEFAULT = ("pot_scaling", "critic_accuracy", "cost", "engine", "comparison", "convergence")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    p.add_argument("--only", default="",
                   help=f"comma-separated benchmarks among {', '.join(BENCHMARKS)} (default: all but course); "
                        "'all' includes course")
    p.add_argument("--quick", action="store_true", help="smoke version of each benchmark with tiny budgets")
    p.add_argument("--seeds", type=int, default=3, help="seeds for convergence and critic accuracy (default 3)")
    p.add_argument("--jobs", type=int, default=1,
                   help="convergence runs in parallel processes (each with cores/jobs threads). Default 1: "
                        "each run has the machine to itself, as the 3-minute target assumes; on the 2-core "
                        "CPU machine two jobs cost each run about a third of its speed (WGAN-GP 7 -> 10 ms per step)")
    p.add_argument("--threads", type=int, default=0,
                   help="torch CPU threads (default 0: torch's own choice; 1 avoids thread contention on a "
                        "loaded machine)")
    p.add_argument("--out", type=Path, default=RESULTS, help=f"output folder (default {RESULTS})")
    p.add_argument("--no-report", action="store_true", help="write the JSON only, no figures or tables")
    args = p.parse_args(argv)
    if args.only.strip() == "all":
        names = list(BENCHMARKS)
    elif args.only.strip():
        names = [n.strip() for n in args.only.split(",") if n.strip()]
    else:
        names = list(DEFAULT)
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        p.error(f"unknown benchmark(s) {', '.join(unknown)}; choose among {', '.join(BENCHMARKS)}")
    if args.seeds < 1 or args.jobs < 1 or args.threads < 0:
        p.error("--seeds and --jobs must be >= 1, --threads >= 0")
    args.names = names
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    os.environ.setdefault("TQDM_DISABLE", "1")
    from importlib import import_module

    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    t_all = time.perf_counter()
    for name in args.names:
        module = import_module(f"benchmarks.{name}")
        log(f"[{name}] {'quick' if args.quick else 'full'} run")
        t0 = time.perf_counter()
        kwargs = {"quick": args.quick, "seeds": args.seeds}
        if name == "convergence":
            kwargs["jobs"] = args.jobs
            kwargs["threads"] = args.threads or None
        payload = module.run(**kwargs)
        path = write_json(name, payload, args.out)
        log(f"[{name}] done in {time.perf_counter() - t0:.0f} s -> {path}")
    if not args.no_report:
        from . import report

        for path in report.main(args.out):
            log(f"[report] wrote {path}")
    log(f"all done in {time.perf_counter() - t_all:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
