"""The benchmark harness still runs end to end: a tiny load against chatsite and one baseline.

Asserts nothing about speed; only that each system produced a row with deliveries counted.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.integration


def test_smoke_run_counts_deliveries_for_chatsite_and_the_tutorial_baseline(tmp_path):
    out = tmp_path / "smoke.jsonl"
    subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", "--systems", "chatsite,tutorial", "--out", str(out)],
        # Only a guard against a hang: every step of the bench waits for its event (a server
        # listening, every delivery in), and on a busy machine those take their time.
        cwd=ROOT, check=True, timeout=1200, capture_output=True,
    )
    rows = {row["system"]: row for row in map(json.loads, out.read_text().splitlines())}

    assert set(rows) == {"chatsite", "tutorial"}
    for row in rows.values():
        assert "failed" not in row, row.get("failed")
        assert row["messages_sent"] > 0
        assert row["deliveries_received"] > 0
        # CPU per delivery is measured over the steady window; on a busy machine the deliveries
        # may all land after it, and then there is no figure to give.
        assert row["server_cpu_us_per_delivery"] is not None or row["delivered_per_s"] == 0
