"""``make seeds``: every lesson rerun under other seeds, in quick and in full mode.

A claim that holds for seed 0 only is not a claim. This runs each lesson with
``GAN_TUTOR_SEED_OFFSET`` set to each offset (default 1 and 2: every ``gt.seed_everything(k)``,
``config.seed`` and ``train_seeds`` seed then becomes ``k + 1`` or ``k + 2``), in quick mode under
nbval (as ``make test`` runs it) and in full mode (``jupyter execute``, as ``make book`` runs it),
one lesson at a time, and writes per run whether it passed, its seconds and, for a failure, the
last lines of the error, to ``benchmarks/results/seeds.json``. Executed full-mode copies are kept
in ``_build/seeds/<offset>/`` for reading the printed values.

    make seeds                                   # every lesson, offsets 1 and 2, both modes
    make seeds ONLY=05_wgan_clipping,06_wgan_gp  # some lessons
    python -m benchmarks.seeds --offsets 1 --modes quick
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path
from typing import Any

from .common import RESULTS, ROOT, finish_machine, log, machine_info, write_json
from .course import execute_full, nbval_quick, notebooks

NAME = "seeds"


KEEP = ROOT / "_build" / "seeds"


def run_one(notebook: Path, offset: int, mode: str, timeout: float, keep: Path = KEEP) -> dict[str, Any]:
    env = {"GAN_TUTOR_SEED_OFFSET": str(offset)}
    if mode == "quick":
        r = nbval_quick(notebook, timeout, env)
    else:
        r = execute_full(notebook, keep / str(offset), timeout, env)
    r["tail"] = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in r["tail"]]  # no terminal colours
    return {"notebook": notebook.stem, "offset": offset, "mode": mode, "seconds": round(r["seconds"], 1),
            "ok": r["ok"], "error": None if r["ok"] else r["tail"]}


def run(only: list[str] | None, offsets: list[int], modes: list[str], timeout: float = 1800.0,
        keep: Path = KEEP) -> dict[str, Any]:
    machine = machine_info()
    rows = []
    for nb in notebooks():
        if only and nb.stem not in only:
            continue
        for offset in offsets:
            for mode in modes:
                row = run_one(nb, offset, mode, timeout, keep)
                rows.append(row)
                log(f"  {nb.stem} offset {offset} {mode}: {'ok' if row['ok'] else 'FAILED'} "
                    f"({row['seconds']:.0f} s)" + ("" if row["ok"] else f"  {row['error']}"))
    return {"benchmark": NAME, "machine": finish_machine(machine), "offsets": offsets, "modes": modes,
            "runs": rows, "failures": [f"{r['notebook']} offset {r['offset']} {r['mode']}" for r in rows if not r["ok"]]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.seeds", description=__doc__.split("\n\n")[0])
    p.add_argument("--only", default="", help="comma-separated notebook names (default: all)")
    p.add_argument("--offsets", default="1,2", help="comma-separated seed offsets (default: 1,2)")
    p.add_argument("--modes", default="quick,full", help="quick, full or both (default: quick,full)")
    p.add_argument("--out", type=Path, default=RESULTS)
    args = p.parse_args(argv)
    only = [s.strip() for s in args.only.split(",") if s.strip()] or None
    offsets = [int(s) for s in args.offsets.split(",") if s.strip()]
    modes = [s.strip() for s in args.modes.split(",") if s.strip()]
    bad = [m for m in modes if m not in ("quick", "full")]
    if bad or not offsets or any(o < 0 for o in offsets):
        p.error(f"modes must be quick and/or full (got {modes}); offsets non-negative integers (got {offsets})")
    os.environ.setdefault("TQDM_DISABLE", "1")
    payload = run(only, offsets, modes)
    path = write_json(NAME, payload, args.out)
    log(f"{len(payload['runs'])} runs, {len(payload['failures'])} failed -> {path}")
    for f in payload["failures"]:
        log(f"  FAILED: {f}")
    return 1 if payload["failures"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
