"""The Colab reader's path: a fresh environment that already has torch/torchvision (as Colab
does) runs a lesson's setup cell, which installs gan-tutor from a wheel, and torch is left alone.

Colab-like base: the fresh virtual environment gets torch, torchvision and the other packages
Colab preinstalls (numpy, scipy, matplotlib, scikit-learn, pandas, tqdm, ipykernel), plus the
rest of gan-tutor's runtime dependencies (read from the wheel: POT), each with its dependency
closure, hard-linked from this environment (a real install with dist-info, without copying
5 GB). The setup cell's %pip then installs gan-tutor from the locally built wheel with the
package index switched off and every pip configuration file ignored: the test needs no network,
and a requirement the base cannot satisfy (a torch pin, a new dependency) fails it at once.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from importlib import metadata
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
COLAB_PREINSTALLED = ["torch", "torchvision", "numpy", "scipy", "matplotlib", "scikit-learn", "pandas",
                      "tqdm", "ipykernel"]

pytestmark = pytest.mark.slow


def _closure(names: list[str]) -> dict[str, metadata.Distribution]:
    """Installed distributions needed by ``names``, following extras (torch's CUDA libraries
    arrive as extras of cuda-toolkit) and skipping requirements whose markers do not apply."""
    todo = [(n, frozenset()) for n in names]
    seen: dict[str, metadata.Distribution] = {}
    done: set[tuple[str, frozenset]] = set()
    while todo:
        raw, extras = todo.pop()
        name = canonicalize_name(raw)
        if (name, extras) in done:
            continue
        done.add((name, extras))
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # an optional or platform-specific requirement that is not installed
        seen[name] = dist
        for line in dist.requires or []:
            req = Requirement(line)
            envs = [{"extra": e} for e in extras] or [{"extra": ""}]
            if req.marker is None or any(req.marker.evaluate(env) for env in envs):
                todo.append((req.name, frozenset(req.extras)))
    return seen


def _runtime_requirements(wheel: Path) -> list[str]:
    """Names of the wheel's Requires-Dist entries that apply without extras."""
    with zipfile.ZipFile(wheel) as zf:
        meta = next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        lines = zf.read(meta).decode().splitlines()
    reqs = [Requirement(ln.split(":", 1)[1]) for ln in lines if ln.startswith("Requires-Dist:")]
    return [r.name for r in reqs if r.marker is None or r.marker.evaluate({"extra": ""})]


def _pip_offline(monkeypatch) -> None:
    """Make every pip the test starts use no index and no configuration file (so no network)."""
    for key in [k for k in os.environ if k.startswith("PIP_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_DISABLE_PIP_VERSION_CHECK", "1")


def _link_tree(dists: dict[str, metadata.Distribution], site: Path) -> None:
    src_site = Path(sysconfig.get_paths()["purelib"]).resolve()
    for dist in dists.values():
        for f in dist.files or []:
            src = Path(dist.locate_file(f)).resolve()
            try:
                rel = src.relative_to(src_site)
            except ValueError:
                continue  # console scripts outside site-packages
            dst = site / rel
            if dst.exists() or not src.is_file():
                continue
            dst.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.link(src, dst)
            except OSError:
                shutil.copy2(src, dst)


@pytest.fixture(scope="module")
def colab_env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("colab")
    # build from a clean copy of what the wheel is made of: an in-tree build would reuse build/lib,
    # where files removed from the package (or no longer declared as package data) linger
    src = tmp / "src"
    shutil.copytree(ROOT / "gan_tutor", src / "gan_tutor", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    wheel_dir = tmp / "wheel"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(wheel_dir), str(src)], check=True)
    wheel = next(wheel_dir.glob("gan_tutor-*.whl"))
    env_dir = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(env_dir)], check=True)
    py = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    _link_tree(_closure(COLAB_PREINSTALLED + _runtime_requirements(wheel)), site)
    kernel_dir = tmp / "jupyter" / "kernels" / "colab-sim"
    kernel_dir.mkdir(parents=True)
    (kernel_dir / "kernel.json").write_text(json.dumps({
        "argv": [str(py), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Colab simulation", "language": "python"}))
    return {"python": py, "wheel": wheel, "jupyter_path": tmp / "jupyter", "site": site}


def _torch_fingerprint(py: Path) -> dict:
    code = ("import json, os, torch, torchvision; "
            "print(json.dumps({'torch': torch.__version__, 'torchvision': torchvision.__version__, "
            "'file': torch.__file__, 'mtime': os.stat(torch.__file__).st_mtime_ns}))")
    out = subprocess.run([str(py), "-c", code], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_setup_cell_installs_the_wheel_and_keeps_torch(colab_env, monkeypatch):
    py = colab_env["python"]
    before = _torch_fingerprint(py)
    outside = str(colab_env["wheel"].parent)  # a folder without the source tree in it
    fresh = subprocess.run([str(py), "-c", "import gan_tutor"], capture_output=True, cwd=outside)
    assert fresh.returncode != 0, \
        "the fresh environment must not have gan_tutor before the setup cell"

    nb = nbformat.read(ROOT / "notebooks" / "00_getting_started.ipynb", as_version=4)
    monkeypatch.setenv("JUPYTER_PATH", str(colab_env["jupyter_path"]))
    monkeypatch.setenv("GAN_TUTOR_FORCE_SETUP", "1")  # stands in for "google.colab" in sys.modules
    monkeypatch.setenv("GAN_TUTOR_SOURCE", str(colab_env["wheel"]))
    monkeypatch.setenv("GAN_TUTOR_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.delenv("PYTHONPATH", raising=False)
    _pip_offline(monkeypatch)
    client = NotebookClient(nb, kernel_name="colab-sim", timeout=600,
                            resources={"metadata": {"path": str(ROOT / "notebooks")}})
    client.execute()

    setup_out = "".join(o.get("text", "") for o in nb.cells[0].outputs)
    reinstalled = re.search(r"Uninstalling torch|Successfully installed[^\n]*\btorch(vision)?-", setup_out)
    assert not reinstalled, setup_out
    after = _torch_fingerprint(py)
    assert after == before, f"torch changed: {before} -> {after}"
    where = subprocess.run([str(py), "-c", "import gan_tutor; print(gan_tutor.__file__)"],
                           check=True, capture_output=True, text=True, cwd=outside).stdout.strip()
    assert where.startswith(str(colab_env["site"])), \
        f"gan_tutor imported from {where}, not from the wheel install"
    # the lesson ran: its imports cell printed the device and quick mode
    printed = "".join(o.get("text", "") for o in nb.cells[2].outputs)
    assert "quick mode: True" in printed
    # the wheel carries the offline MNIST digits
    code = "from gan_tutor.data import _offline_mnist; i, l = _offline_mnist(); print(i.shape, l.shape)"
    shapes = subprocess.run([str(py), "-c", code], check=True, capture_output=True, text=True,
                            cwd=outside).stdout
    assert shapes.strip() == "(5000, 28, 28) (5000,)", shapes
