"""environment.yml and the Makefile stay consistent with pyproject.toml."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
ENV = yaml.safe_load((ROOT / "environment.yml").read_text())


def test_environment_installs_the_project_with_every_extra():
    pip_sections = [d["pip"] for d in ENV["dependencies"] if isinstance(d, dict) and "pip" in d]
    assert len(pip_sections) == 1
    installs = pip_sections[0]
    extras = set(PYPROJECT["project"]["optional-dependencies"])
    editable = [ln for ln in installs if ln.startswith("-e")]
    assert len(editable) == 1
    listed = set(re.search(r"\[(.*)\]", editable[0]).group(1).split(","))
    assert listed == extras, f"environment.yml installs extras {listed}, pyproject.toml defines {extras}"


def test_environment_python_matches_requires_python():
    deps = [d for d in ENV["dependencies"] if isinstance(d, str)]
    pythons = [d for d in deps if d.startswith("python")]
    assert pythons, "environment.yml must name python"
    env_min = re.search(r">=\s*([\d.]+)", pythons[0]).group(1)
    req_min = re.search(r">=\s*([\d.]+)", PYPROJECT["project"]["requires-python"]).group(1)
    assert env_min == req_min
    assert "pip" in deps


def test_torch_has_lower_bounds_only():
    """Colab ships its own torch; an exact pin or a cap would make pip replace it."""
    for dep in PYPROJECT["project"]["dependencies"]:
        name = re.match(r"[A-Za-z0-9_.-]+", dep).group(0).lower()
        if name in ("torch", "torchvision"):
            assert re.fullmatch(rf"{name}>=[\d.]+", dep.replace(" ", "")), dep


def test_jupyter_book_is_pinned_to_1x():
    book = PYPROJECT["project"]["optional-dependencies"]["book"]
    assert "jupyter-book==1.0.4.post1" in book


def test_makefile_and_ci_use_the_readme_commands():
    make = (ROOT / "Makefile").read_text()
    assert re.search(r"^book:", make, re.M) and re.search(r"^test:", make, re.M)
    assert "--nbval-lax" in make and "--nbval-current-env" in make and "GAN_TUTOR_QUICK=1" in make
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci
    readme = (ROOT / "README.md").read_text()
    assert "make book" in readme and "make test" in readme
