"""Cold start: importing ``app`` against a bare Chalice + boto3 app, each in a fresh interpreter."""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The Lambda package ships no `cryptography` (PyJWT only needs it for
# asymmetric keys; requirements.txt leaves it out), but this development
# environment has it (moto needs it) and PyJWT imports it when present: block
# it, so the measured import is the deployed one.
TIMER = (
    "import sys; sys.modules['cryptography'] = None; "
    "import time; t = time.perf_counter(); {body}; print(time.perf_counter() - t)"
)
OURS = "import app"
BASELINE = "import boto3; from chalice import Chalice; Chalice(app_name='bare')"


def _seconds(body: str) -> float:
    out = subprocess.run(
        [sys.executable, "-c", TIMER.format(body=body)], cwd=ROOT, capture_output=True, text=True, check=True
    )
    return float(out.stdout.strip())


def import_times(runs: int) -> tuple[float, float]:
    """Median import seconds of (our app, the bare app), runs interleaved."""
    ours, bare = [], []
    for _ in range(runs):
        ours.append(_seconds(OURS))
        bare.append(_seconds(BASELINE))
    return statistics.median(ours), statistics.median(bare)
