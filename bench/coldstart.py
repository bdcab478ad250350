"""Cold start as Lambda sees it: importing ``app`` from the unpacked deployment package.

``make package``'s zip is unpacked into a temporary folder; beside it sits a
"runtime" folder holding only what the Lambda Python runtime provides
(boto3, botocore and their dependencies, linked from this environment). Each
import runs in a fresh interpreter started with ``-S -I`` (no site-packages,
no environment), with exactly those two folders on ``sys.path``, so nothing
the development environment installed can be imported: not ``cryptography``
(a dev dependency that PyJWT would import when present; it is also blocked
explicitly), not argon2's or anyone's copies outside the zip. The baseline is
a bare Chalice app + boto3 from the same folders. Runs are interleaved (ours,
bare, ours, ...) and the ratio is the median of the per-pair ratios.
"""

from __future__ import annotations

import importlib.util
import statistics
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What the Lambda Python runtime ships besides the standard library.
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
TIMER = (
    "import sys; sys.path[:0] = {paths!r}; sys.modules['cryptography'] = None; "
    "import time; t = time.perf_counter(); {body}; print(time.perf_counter() - t)"
)
OURS = "import app"
BASELINE = "import boto3; from chalice import Chalice; Chalice(app_name='bare')"


@dataclass(frozen=True)
class ColdStart:
    runs: int
    ours: float  # median seconds
    bare: float
    ratio: float  # median of the interleaved pairs' ratios
    source: str  # what was imported


def _runtime(folder: Path) -> Path:
    """A folder with only the packages the Lambda runtime provides (symlinks)."""
    folder.mkdir()
    for name in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(name)
        if spec is None or spec.origin is None:
            continue
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (folder / source.name).symlink_to(source)
    return folder


def _seconds(body: str, paths: list[str]) -> float:
    out = subprocess.run(
        [sys.executable, "-S", "-I", "-c", TIMER.format(paths=paths, body=body)],
        cwd=paths[0],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip())


def measure(runs: int, *, smoke: bool = False) -> ColdStart:
    """Package, unpack, then ``runs`` interleaved imports of each. ``smoke``: import from the source tree."""
    from tools import package

    with tempfile.TemporaryDirectory(prefix="bench-coldstart-") as scratch:
        work = Path(scratch)
        if smoke:  # the test suite's smoke run: no chalice package (it checks the zip elsewhere)
            code, source = ROOT, "the source tree (smoke run)"
        else:
            with zipfile.ZipFile(package.package("dev", work / "build") / "deployment.zip") as archive:
                archive.extractall(work / "task")
            code, source = work / "task", "the unpacked deployment package (make package, stage dev)"
        paths = [str(code), str(_runtime(work / "runtime"))]
        if smoke:  # chalice and PyJWT are not in the runtime folder: take this environment's
            paths.append(str(Path(importlib.util.find_spec("chalice").origin).parent.parent))
        ours, bare, ratios = [], [], []
        for _ in range(runs):
            ours.append(_seconds(OURS, paths))
            bare.append(_seconds(BASELINE, paths))
            ratios.append(ours[-1] / bare[-1])
    return ColdStart(runs, statistics.median(ours), statistics.median(bare), statistics.median(ratios), source)
