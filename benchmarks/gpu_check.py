"""``make gpu-check``: the whole course on this machine's device, timed, as a reader would run it.

Executes every lesson in full mode (``jupyter execute``, as ``make book`` does) on the device
``gt.get_device()`` picks (CUDA when present), then the quick benchmarks (``--quick --seeds 1``),
and writes ``benchmarks/results/book_<device>.json`` (``book_cuda.json`` on a GPU,
``book_cpu.json`` on a CPU): per notebook the seconds and whether it failed (with the last lines
of its error), the benchmarks' time and status, and the machine. The results page shows the CPU
and GPU files side by side. On the GPU machine it is meant to run as one prepared command:

    make gpu-check            # or: python -m benchmarks.gpu_check [--only 07_sngan,08_comparison]

Targets (the course's design): the full course under 6 minutes on 2 CPU cores (each lesson under
90 s, lesson 08 under 180 s) and under 2 minutes on one GPU.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import RESULTS, ROOT, finish_machine, log, machine_info, write_json
from .course import execute_full, notebooks

TARGETS = {"cpu_total_s": 360.0, "gpu_total_s": 120.0, "lesson_s": 90.0, "lesson_08_s": 180.0}


def run(only: list[str] | None = None, benchmarks: bool = True, timeout: float = 1800.0) -> dict[str, Any]:
    import gan_tutor as gt

    machine = machine_info()
    device = gt.get_device()
    rows = []
    with tempfile.TemporaryDirectory(prefix="gan-tutor-gpu-check-") as tmp:
        for nb in notebooks():
            if only and nb.stem not in only:
                continue
            r = execute_full(nb, tmp, timeout)
            rows.append({"notebook": nb.stem, "seconds": r["seconds"], "ok": r["ok"],
                         "error": None if r["ok"] else r["tail"]})
            log(f"  {nb.stem}: {r['seconds']:.0f} s" + ("" if r["ok"] else f"  FAILED: {r['tail']}"))
        bench = None
        if benchmarks:
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "benchmarks.run", "--quick", "--seeds", "1", "--out",
                                   str(Path(tmp) / "bench"), "--no-report"], cwd=ROOT, capture_output=True,
                                  text=True, timeout=timeout, env={**os.environ, "MPLBACKEND": "Agg"})
            bench = {"seconds": time.perf_counter() - t0, "ok": proc.returncode == 0,
                     "tail": (proc.stdout + proc.stderr).strip().splitlines()[-12:]}
            log(f"  quick benchmarks: {bench['seconds']:.0f} s" + ("" if bench["ok"] else " FAILED"))
    return {
        "benchmark": f"book_{device.type}",
        "device": str(device),
        "machine": finish_machine(machine),
        "targets": TARGETS,
        "notebooks": rows,
        "total_s": sum(r["seconds"] for r in rows),
        "failures": [r["notebook"] for r in rows if not r["ok"]],
        "quick_benchmarks": bench,
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.gpu_check", description=__doc__.split("\n\n")[0])
    p.add_argument("--only", default="", help="comma-separated notebook names (default: all)")
    p.add_argument("--no-benchmarks", action="store_true", help="skip the quick benchmarks")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    os.environ.setdefault("TQDM_DISABLE", "1")
    only = [s.strip() for s in args.only.split(",") if s.strip()] or None
    payload = run(only, benchmarks=not args.no_benchmarks)
    path = write_json(payload["benchmark"], payload, args.out)
    log(f"{payload['device']}: {len(payload['notebooks'])} lessons in {payload['total_s']:.0f} s, "
        f"{len(payload['failures'])} failed -> {path}")
    from . import report

    report.main(args.out)
    return 1 if payload["failures"] or (payload["quick_benchmarks"] and not payload["quick_benchmarks"]["ok"]) else 0


if __name__ == "__main__":
    sys.exit(main())
