"""The benchmark's smoke run: tiny sizes, no timing assertions, so it cannot rot."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SUMMARY = re.compile(
    r"^bench: allocations=(\d+) violations_ours=(\d+) violations_naive=(\d+) speedup_vs_lock=\d+\.\d\d "
    r"ratio_vs_naive=\d+\.\d\d retries_per_alloc=\d+\.\d\d allocs_per_s=\d+ p99_ms=\d+ "
    r"rcu_per_alloc_10k_agents=\d+\.\d import_ratio=\d+\.\d\d usd_per_million_chats=\d+\.\d\d "
    r"push_p50_ms=\d+ push_p99_ms=\d+$"
)


def test_the_smoke_benchmark_prints_the_summary_line_last_with_no_violations_of_ours(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    last = result.stdout.strip().splitlines()[-1]
    match = SUMMARY.match(last)
    assert match, last
    assert int(match.group(1)) > 0 and match.group(2) == "0"
    report = (tmp_path / "PERFORMANCE.md").read_text()
    assert "## 1. Allocation under contention" in report and "## 5. Cost per million chats" in report
    assert "## 6. Push latency" in report and "## 7. Teams as shards" in report
    assert {p.name for p in (tmp_path / "img").iterdir()} == {"throughput.png", "p99.png", "capacity.png", "teams.png"}
