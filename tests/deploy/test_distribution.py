"""The distribution installs one top-level package, ``connector``: no module named ``cli`` lands in
site-packages, where another distribution's ``cli`` would collide with it (issue #18). The console
script is ``connector.cli:main``; the repository's ``cli.py`` only delegates to it, for
``python cli.py`` in a checkout."""
from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_installed_distribution_has_no_top_level_cli(tmp_path):
    dist = importlib.metadata.distribution("socialarchive")
    assert (dist.read_text("top_level.txt") or "").split() == ["connector"]
    [script] = [ep for ep in dist.entry_points if ep.group == "console_scripts"]
    assert (script.name, script.value) == ("socialarchive", "connector.cli:main")
    # outside the checkout (whose directory would put its cli.py on sys.path), nothing answers to "cli"
    found = subprocess.run([sys.executable, "-c", "import importlib.util; print(importlib.util.find_spec('cli'))"],
                           cwd=tmp_path, capture_output=True, text=True, check=True)
    assert found.stdout.strip() == "None"


def test_the_wheel_holds_no_top_level_module_but_connector(tmp_path):
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "py-modules" not in pyproject["tool"]["setuptools"]
    # a clean copy of what the image copies, with cli.py beside it (a checkout's build/ may hold stale files)
    src = tmp_path / "src"
    for name in ("connector", "mappings"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "cli.py"):
        shutil.copy(ROOT / name, src / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(src)],
                   check=True, cwd=tmp_path)
    [wheel] = tmp_path.glob("socialarchive-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        [top_level] = [n for n in names if n.endswith(".dist-info/top_level.txt")]
        assert zf.read(top_level).decode().split() == ["connector"]
    tops = {n.split("/", 1)[0] for n in names if ".dist-info/" not in n and ".data/" not in n}
    assert tops == {"connector"}, tops
