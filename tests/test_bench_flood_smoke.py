"""The flood benchmark still runs end to end: a tiny baseline and a tiny flood against chatsite.

Asserts nothing about speed; only that both phases produced a row with the normal members'
deliveries counted, and that the defences answered the flooder (rate_limited errors or a close).
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.integration


def test_flood_smoke_run_reports_both_phases_and_what_the_flooder_got(tmp_path):
    out = tmp_path / "flood.jsonl"
    subprocess.run(
        [sys.executable, "-m", "bench.flood", "--smoke", "--json", str(out)],
        cwd=ROOT, check=True, timeout=1200, capture_output=True,  # a hang guard: see test_bench_smoke.py
    )
    rows = {row["phase"]: row for row in map(json.loads, out.read_text().splitlines())}

    assert set(rows) == {"baseline", "flood"}
    for row in rows.values():
        assert "failed" not in row, row.get("failed")
        assert row["limits"]["CHAT_RATE_LIMIT"] != "off"  # the defences are on
        assert row["messages_sent"] > 0
        assert row["deliveries_received"] > 0
        assert row["lost"] is not None
        assert set(row["latency_ms"]) == {"p50", "p90", "p99", "max"}
        assert row["server_cpu_s"] is not None
        assert row["server_alive"] is True
    assert "flooder" not in rows["baseline"]

    flooder = rows["flood"]["flooder"]
    assert flooder["connects"] >= 1, flooder["connect_failures"]
    assert flooder["frames_sent"] > 0
    assert flooder["rate_limited_errors"] > 0 or flooder["first_close_code"] is not None
    assert "first_close_after_s" in flooder
    assert "p99_ratio" in rows["flood"]["vs_baseline"]
