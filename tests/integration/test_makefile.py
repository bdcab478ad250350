"""What each make target installs: `make run` only what running needs, each file once, pinned, not silently.

Dry runs (``make -n``) against a venv folder of our own, so nothing installs.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENT_FILES = ("requirements.txt", "requirements-run.txt", "requirements-dev.txt", "requirements-bench.txt")
TEST_AND_BENCH_ONLY = (
    "pytest",
    "hypothesis",
    "schemathesis",
    "ruff",
    "cfn-lint",
    "matplotlib",
    "openapi-spec-validator",
)

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


def dry_run(target: str, venv: Path) -> str:
    result = subprocess.run(
        ["make", "-n", target, f"VENV={venv}"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return result.stdout


def installs(commands: str) -> list[str]:
    return re.findall(r"pip install .*-r (\S+)", commands)


def requirements(name: str) -> list[str]:
    lines = [line.split("#")[0].strip() for line in (ROOT / name).read_text().splitlines()]
    return [line for line in lines if line]


@pytest.mark.parametrize("name", REQUIREMENT_FILES)
def test_every_requirement_is_pinned(name):
    for line in requirements(name):
        assert line.startswith("-r ") or re.fullmatch(r"[A-Za-z0-9_.\-]+(\[[a-z0-9_,]+\])?==[0-9][^ ]*", line), line


def test_make_run_installs_only_what_running_needs(tmp_path):
    commands = dry_run("run", tmp_path / "venv")
    assert installs(commands) == ["requirements-run.txt"]
    assert "--quiet" not in commands and " -q " not in commands  # pip's progress shows
    run = " ".join(requirements("requirements-run.txt")).lower()
    assert not [name for name in TEST_AND_BENCH_ONLY if name in run]
    assert "-r requirements.txt" in run and "chalice==" in run and "boto3==" in run and "moto[dynamodb]==" in run


def test_make_test_installs_the_tests_and_the_benchmarks_plotting(tmp_path):
    assert installs(dry_run("test", tmp_path / "venv")) == ["requirements-dev.txt", "requirements-bench.txt"]


def test_make_bench_installs_the_benchmarks_needs_without_the_tests(tmp_path):
    assert installs(dry_run("bench", tmp_path / "venv")) == ["requirements-bench.txt"]


def test_make_run_after_make_test_installs_nothing(tmp_path):
    venv = tmp_path / "venv"
    # make test's installs include requirements-run.txt, so they renew make run's stamp as well ...
    assert f"touch {venv}/.installed-run {venv}/.installed-dev" in dry_run("test", venv)
    # ... and with the stamps there, neither target installs again.
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").touch()
    for stamp in (".installed-run", ".installed-dev", ".installed-bench"):
        (venv / stamp).touch()
    assert installs(dry_run("run", venv)) == installs(dry_run("test", venv)) == []


@pytest.mark.parametrize("target", ["run", "run-fresh"])
def test_the_runner_replaces_the_recipes_shell_so_ctrl_c_leaves_no_make_interrupt_line(tmp_path, target):
    # A shell between make and the runner dies of the SIGINT the runner handled; make then adds
    # "make: *** [Makefile: run] Interrupt" after the runner's own "run: stopped".
    runner = [line for line in dry_run(target, tmp_path / "venv").splitlines() if "tools.run_local" in line]
    assert len(runner) == 1 and " exec " in runner[0], runner
