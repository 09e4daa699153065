"""The course itself: how long the lessons take to run.

* quick mode (what ``make test`` runs): ``pytest --nbval-lax --nbval-current-env`` on each
  notebook with ``GAN_TUTOR_QUICK=1``; target: under 10 minutes in total on 2 CPU cores.
* full mode (what ``make book`` executes): ``jupyter execute`` (nbclient, the executor that
  myst-nb uses; nbconvert is not installed) on each notebook, output written to a temporary folder;
* the whole book: ``jupyter-book build`` with warnings as errors into a fresh output folder (so
  that no cached execution is reused); target: under 30 minutes on 2 CPU cores, under 5 minutes
  on one GPU.

Optional (``python -m benchmarks.run --only course``): it is not part of the default run because
it takes as long as the course does. ``--quick`` times the quick-mode nbval runs only.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import ROOT, finish_machine, log, machine_info

NAME = "course"
TARGETS = {"nbval_quick_total_s": 600.0, "book_cpu_s": 1800.0, "book_gpu_s": 300.0}
RUN_ENV = {"MPLBACKEND": "Agg", "TQDM_DISABLE": "1", "PYTHONHASHSEED": "0"}


def _bin(name: str) -> str:
    cand = Path(sys.executable).with_name(name)
    return str(cand) if cand.exists() else name


def _timed(cmd: list[str], env: dict[str, str], timeout: float) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, cwd=ROOT, env={**os.environ, **env}, capture_output=True, text=True,
                              timeout=timeout)
        rc, out = proc.returncode, (proc.stdout + proc.stderr)
    except subprocess.TimeoutExpired as err:
        rc, out = None, f"timed out after {timeout:.0f} s: {err}"
    return {"seconds": time.perf_counter() - t0, "returncode": rc, "ok": rc == 0,
            "tail": out.strip().splitlines()[-3:] if out else []}


def execute_full(notebook: Path | str, out_dir: Path | str, timeout: float = 3600.0,
                 env: dict[str, str] | None = None) -> dict[str, Any]:
    """Execute ``notebook`` in full mode (``jupyter execute``), writing the executed copy to ``out_dir``;
    ``env`` adds environment variables (e.g. ``GAN_TUTOR_SEED_OFFSET``)."""
    notebook, out_dir = Path(notebook), Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    return _timed([_bin("jupyter"), "execute", "--timeout=900", f"--output={out_dir / notebook.stem}",
                   str(notebook)], {**RUN_ENV, **(env or {}), "GAN_TUTOR_QUICK": "0"}, timeout)


def nbval_quick(notebook: Path | str, timeout: float = 3600.0, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run ``notebook`` in quick mode under nbval, as ``make test`` does."""
    return _timed([sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider",
                   "-q", str(notebook)], {**RUN_ENV, **(env or {}), "GAN_TUTOR_QUICK": "1"}, timeout)


def notebooks() -> list[Path]:
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def run(quick: bool = False, seeds: int = 1, timeout: float = 3600.0) -> dict[str, Any]:
    machine = machine_info()
    t_all = time.perf_counter()
    rows = []
    with tempfile.TemporaryDirectory(prefix="gan-tutor-course-") as tmp:
        for nb in notebooks():
            rel = str(nb.relative_to(ROOT))
            row: dict[str, Any] = {"notebook": rel}
            row["quick_nbval"] = nbval_quick(rel, timeout)
            if not quick:
                row["full_execute"] = execute_full(rel, tmp, timeout)
            rows.append(row)
            log(f"  {rel}: quick nbval {row['quick_nbval']['seconds']:.0f} s"
                + ("" if row["quick_nbval"]["ok"] else " (FAILED)")
                + (f", full {row['full_execute']['seconds']:.0f} s" + ("" if row["full_execute"]["ok"] else " (FAILED)")
                   if "full_execute" in row else ""))
        book = None
        if not quick:
            book = _timed([_bin("jupyter-book"), "build", ".", "--path-output", str(Path(tmp) / "book"),
                           "--warningiserror", "--keep-going", "--builder", "html"],
                          {**RUN_ENV, "GAN_TUTOR_QUICK": "0"}, timeout)
            log(f"  jupyter-book build (fresh, full mode): {book['seconds']:.0f} s" + ("" if book["ok"] else " (FAILED)"))
    return {
        "benchmark": NAME,
        "quick": quick,
        "machine": finish_machine(machine),
        "total_s": time.perf_counter() - t_all,
        "targets": TARGETS,
        "notebooks": rows,
        "nbval_quick_total_s": sum(r["quick_nbval"]["seconds"] for r in rows),
        "full_execute_total_s": sum(r["full_execute"]["seconds"] for r in rows) if not quick else None,
        "book_build": book,
    }
