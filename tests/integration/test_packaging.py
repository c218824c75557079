"""What a school installs with ``pip install .``: the product, without the demo school, the tests'
helpers or any ``--lab`` bypass; and the demo school's distribution adds ``auditor lab``."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.support.paths import ROOT


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    res = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(out), str(ROOT)], capture_output=True, text=True, timeout=300,
                         check=False)
    assert res.returncode == 0, res.stderr
    (built,) = out.glob("campus_auditor-*.whl")
    return built


def _run_installed(target: Path, code: str) -> subprocess.CompletedProcess[str]:
    """Python with only the installed wheel and the third-party libraries on its path: no ``.pth``
    files (so not the editable checkout), no other distribution's entry points for ``auditor``."""
    deps = sysconfig.get_paths()["purelib"]
    prelude = f"import sys; sys.path[:0] = [{str(target)!r}, {deps!r}]\n"
    return subprocess.run([sys.executable, "-S", "-c", prelude + code], capture_output=True, text=True,
                          timeout=120, check=False, cwd=target)


def test_the_wheel_holds_the_product_only(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert "auditor/engine.py" in names and any(n.startswith("auditor/probes/") for n in names)
    assert not [n for n in names if n.startswith(("auditor/lab/", "tests/", "lab/"))]
    assert "auditor/district/testing.py" not in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "auditor.lab" not in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_it_runs_and_has_no_lab_bypass(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    res = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target),
                          str(wheel)], capture_output=True, text=True, timeout=300, check=False)
    assert res.returncode == 0, res.stderr
    helped = _run_installed(target, "import auditor.cli, click\n"
                            "print(auditor.cli.__file__)\n"
                            "click.echo(auditor.cli.cli.commands['run'].get_help(click.Context(auditor.cli.cli)))")
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith(str(target)) and "--inventory" in helped.stdout
    assert "--lab" not in helped.stdout
    lab = _run_installed(target, "import auditor.lab")
    assert lab.returncode != 0 and "No module named 'auditor.lab'" in lab.stderr


def test_the_lab_distribution_adds_the_lab_commands() -> None:
    from tests.support.cli import run_cli

    res = run_cli("lab", "--help")
    assert res.returncode == 0 and "up" in res.stdout and "down" in res.stdout
