"""Helpers shared by the test layers: invariants, botocore hooks, the live HTTP driver, recorded fixtures."""

from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures"
