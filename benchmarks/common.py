"""Shared helpers: the machine block every result carries, JSON output, small statistics."""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterable

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"
ROOT = Path(__file__).resolve().parents[1]


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    if sys.platform == "darwin":
        try:
            return subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True,
                                  text=True, timeout=5).stdout.strip() or platform.processor()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine()


def machine_info() -> dict[str, Any]:
    """Where a measurement was taken: CPU, cores, memory, torch, device, GPU, date, load."""
    import torch

    import gan_tutor as gt

    device = gt.get_device()
    info: dict[str, Any] = {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
    }
    try:
        import ot

        info["pot"] = ot.__version__
    except ImportError:  # pragma: no cover
        pass
    try:
        pages, size = os.sysconf("SC_PHYS_PAGES"), os.sysconf("SC_PAGE_SIZE")
        info["memory_gb"] = round(pages * size / 1024**3, 1)
    except (ValueError, OSError, AttributeError):
        pass
    if hasattr(os, "getloadavg"):
        info["load_avg_start"] = [round(x, 2) for x in os.getloadavg()]
    return info


def finish_machine(machine: dict[str, Any]) -> dict[str, Any]:
    """Add the load average at the end of a benchmark (a loaded machine inflates every timing)."""
    if hasattr(os, "getloadavg"):
        machine["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    return machine


def _clean(obj: Any) -> Any:
    """JSON-safe copy: NaN/inf become None, NumPy scalars become Python numbers."""
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        v = float(obj)
        return v if math.isfinite(v) else None
    return obj


def write_json(name: str, payload: dict[str, Any], out: Path) -> Path:
    """Write ``payload`` to ``out/<name>.json`` (atomically, through a .tmp file)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.json"
    tmp = out / f"{name}.json.tmp"
    tmp.write_text(json.dumps(_clean(payload), indent=1) + "\n")
    tmp.replace(path)
    return path


def read_json(name: str, out: Path) -> dict[str, Any] | None:
    path = out / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def median_spread(values: Iterable[float | None]) -> dict[str, float | None]:
    """Median, min, max, 25th and 75th percentile of the finite values (None when there are none)."""
    vals = np.array([v for v in values if v is not None and math.isfinite(v)], dtype=float)
    if vals.size == 0:
        return {"median": None, "min": None, "max": None, "q25": None, "q75": None, "n": 0}
    return {
        "median": float(np.median(vals)),
        "min": float(vals.min()),
        "max": float(vals.max()),
        "q25": float(np.percentile(vals, 25)),
        "q75": float(np.percentile(vals, 75)),
        "n": int(vals.size),
    }


def log(msg: str) -> None:
    print(msg, flush=True)
