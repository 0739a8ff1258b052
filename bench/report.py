"""Turn result rows into the markdown tables and the PNG plot of docs/benchmarks.md.

    .venv/bin/python -m bench.report bench/results/run-<stamp>.jsonl [--docs]

With --docs the part of docs/benchmarks.md between the two `bench:results` markers is replaced;
the hand-written analysis around it stays.
"""
import argparse
import json
import sys
from pathlib import Path

from bench.servers import SYSTEMS

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
ORDER = list(SYSTEMS)  # rows of systems no longer in bench/servers.py (older result files) sort after, by name


def _fmt(value, digits=0):
    if value is None:
        return "–"
    if isinstance(value, float) and digits == 0:
        return f"{value:,.0f}"
    return f"{value:,.{digits}f}"


def _key(row):
    name = row.get("system", "")
    return (ORDER.index(name) if name in ORDER else len(ORDER), name)


def load_table(rows):
    rows = [r for r in rows if r.get("mode") == "load"]
    lines = [
        "| offered/s | system | delivered/s | lost (%) | p50 ms | p90 ms | p99 ms | max ms | server CPU µs/delivery "
        "| server core busy | others on server core | load-gen core busy | stored/sent | recovered by sync / resent "
        "| connect p50 ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: (r["offered_per_s"], _key(r))):
        if r.get("failed"):
            lines.append(f"| {_fmt(r['offered_per_s'])} | {r['system']} | failed: {r['failed'][-120:]!r} |" + " |" * 12)
            continue
        lat = r["latency_ms"]
        stored = r.get("messages_stored")
        stored_s = "–" if stored is None else f"{stored:,}/{r['messages_sent']:,}"
        recovered = "–" if "syncs" not in r or stored is None else f"{r['recovered_by_sync']:,} / {r['resent_messages']:,}"
        busy = r.get("server_cpu_util")
        lost = f"{r['lost']:,} ({r['lost_pct']:.1f})" if r.get("lost_pct") is not None else "–"
        c = r["connect"]
        name = r["system"]
        if c["failed"] or r.get("closed_sockets"):
            name += f" ⚠ {c['connected']}/{c['connected'] + c['failed']} joined, {r.get('closed_sockets', 0)} closed"
        lines.append(
            f"| {_fmt(r['offered_per_s'])} | {name} | {_fmt(r['delivered_per_s'])} | {lost} "
            f"| {_fmt(lat['p50'], 1)} | {_fmt(lat['p90'], 1)} | {_fmt(lat['p99'], 1)} | {_fmt(lat['max'], 1)} "
            f"| {_fmt(r['server_cpu_us_per_delivery'], 1)} | {_fmt(busy and busy * 100)} % "
            f"| {_fmt((r.get('server_core_others') or 0) * 100)} % | {_fmt(r['loadgen_cpu_util'] * 100)} % | {stored_s} | {recovered} "
            f"| {_fmt(r['connect']['flow_ms_p50'], 1)} |"
        )
    return "\n".join(lines)


def idle_table(rows):
    rows = [r for r in rows if r.get("mode") == "idle"]
    if not rows:
        return ""
    lines = ["| system | idle sockets open | RSS before MB | RSS after MB | RSS KB per socket | time to open all s "
             "| socket ready p50/p99 ms |", "|---|---:|---:|---:|---:|---:|---:|"]
    for r in sorted(rows, key=_key):
        if r.get("failed"):
            lines.append(f"| {r['system']} | failed: {r['failed'][-120:]!r} | | | | | |")
            continue
        c = r["connect"]
        lines.append(
            f"| {r['system']} | {r['idle_open']:,}/{r['idle_target']:,} | {r['server_rss_mb_before']} "
            f"| {r['server_rss_mb_after']} | {_fmt(r['rss_kb_per_connection'], 1)} | {c['seconds']} "
            f"| {_fmt(c['ws_ms_p50'], 1)} / {_fmt(c['ws_ms_p99'], 1)} |"
        )
    return "\n".join(lines)


def history_table(rows):
    rows = [r for r in rows if r.get("mode") == "history" and not r.get("failed")]
    if not rows:
        return ""
    lines = ["| stored messages | room page median / p90 ms | hello (latest page) median / p90 ms "
             "| hello ?after= median / p90 ms |", "|---:|---:|---:|---:|"]
    for r in sorted(rows, key=lambda r: r["stored"]):
        cells = [f"{r[k]['median']} / {r[k]['p90']}" for k in ("page_ms", "hello_latest_ms", "hello_after_ms")]
        lines.append(f"| {r['stored']:,} | " + " | ".join(cells) + " |")
    first, last = rows[0], rows[-1]
    ratios = ", ".join(
        f"{k.replace('_ms', '')} {last[k]['median'] / first[k]['median']:.2f}×"
        for k in ("page_ms", "hello_latest_ms", "hello_after_ms")
    )
    lines.append(f"\nMedian at {last['stored']:,} over median at {first['stored']:,}: {ratios}.")
    return "\n".join(lines)


def plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [r for r in rows if r.get("mode") == "load" and not r.get("failed")]
    systems = sorted({r["system"] for r in rows}, key=lambda s: _key({"system": s}))
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(16, 5.2))
    top = max((r["offered_per_s"] for r in rows), default=1)
    ax1.plot([0, top], [0, top], color="0.8", linestyle="--", label="every offered delivery")
    for name in systems:
        pts = sorted((r for r in rows if r["system"] == name), key=lambda r: r["offered_per_s"])
        x = [r["offered_per_s"] for r in pts]
        ax1.plot(x, [r["delivered_per_s"] for r in pts], marker="o", label=name)
        ax2.plot(x, [r["latency_ms"]["p99"] or float("nan") for r in pts], marker="o", label=name)
        ax3.plot(x, [r["lost_pct"] or 0 for r in pts], marker="o", label=name)
    ax1.set(title="Throughput", xlabel="offered deliveries per second", ylabel="delivered per second (steady window)")
    ax2.set(title="Latency, send to each receipt", xlabel="offered deliveries per second", ylabel="p99 latency (ms, log scale)")
    ax2.set_yscale("log")
    ax2.axhline(50, color="red", linewidth=0.8, linestyle=":", label="50 ms target")
    ax3.set(title="Lost deliveries (or later than the drain)", xlabel="offered deliveries per second",
            ylabel="lost (% of expected)")
    for ax in (ax1, ax2, ax3):
        ax.grid(True, alpha=0.3)
        ax.set_xlim(left=0)
    ax1.set_ylim(bottom=0)
    ax3.set_ylim(bottom=-1)
    ax1.legend(fontsize=8)
    ax2.legend(fontsize=8)
    first = rows[0] if rows else {}
    fig.suptitle(f"5 rooms × 20 members, server pinned to one core, load generator on the other (run "
                 f"{first.get('run', '?')}; a shared machine: see 'others on server core' in the table)", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def render(rows, argv_used=""):
    meta = rows[0] if rows else {}
    m = meta.get("machine", {})
    parts = [
        f"Run `{meta.get('run', '?')}` of commit `{m.get('commit', '?')}`; {m.get('cpu', '?')}, {m.get('cores', '?')} cores, "
        f"Python {m.get('python', '?')}, Linux {m.get('kernel', '?')}; load average at start {m.get('loadavg_at_start', 0):.1f} "
        "(the machine was shared with other jobs: compare systems within this run, not across runs).",
        "",
        f"Command: `.venv/bin/python -m bench {argv_used}`".rstrip(),
        "",
        "![p99 latency, delivered rate and loss against offered load](benchmarks.png)",
        "",
        "### Load sweep",
        "",
        load_table(rows),
    ]
    idle = idle_table(rows)
    if idle:
        parts += ["", "### Idle connections", "", idle]
    hist = history_table(rows)
    if hist:
        parts += ["", "### History (chatsite)", "", hist]
    return "\n".join(parts)


def write_docs(rows, argv_used="", doc=DOC, section="results"):
    """Replace the `bench:<section>` block of the doc; the plot is benchmarks[-<section>].png."""
    start, end = f"<!-- bench:{section}:start -->", f"<!-- bench:{section}:end -->"
    png = "benchmarks.png" if section == "results" else f"benchmarks-{section}.png"
    has_load = any(r.get("mode") == "load" and not r.get("failed") for r in rows)
    if has_load:
        plot(rows, doc.parent / png)
    body = render(rows, argv_used).replace("(benchmarks.png)", f"({png})")
    if not has_load:
        body = body.replace(f"![p99 latency, delivered rate and loss against offered load]({png})", "")
    block = f"{start}\n{body}\n{end}"
    text = doc.read_text() if doc.exists() else f"# Benchmarks\n\n{start}\n{end}\n"
    if start not in text:
        text += f"\n{start}\n{end}\n"
    head, rest = text.split(start, 1)
    tail = rest.split(end, 1)[1]
    doc.write_text(head + block + tail)
    print(f"wrote {doc} and {doc.parent / png}", file=sys.stderr)


def storm_table(rows):
    """The restart storm (bench/storm.py): one row per system and number of clients."""
    lines = [
        "| clients | system | all back (s) | back at 5 s / 10 s / 30 s | to hello p50 / p99 (s) | attempts "
        "| refusals | lost / doubled | talkers' p99 during it (ms) | server CPU (s) |",
        "|---:|---|---:|---|---|---:|---|---|---:|---:|",
    ]
    for r in sorted(rows, key=lambda r: (r["clients"], _key(r))):
        back = r["back_at"]
        refusals = ", ".join(f"{k} {v}" for k, v in sorted(r["refusals"].items(), key=lambda kv: -kv[1])) or "none"
        lost = "–" if r.get("lost") is None else f"{r['lost']} / {r['doubled']}"
        lines.append(
            f"| {r['clients']:,} | {r['system']} | {_fmt(r['all_back_s'], 1) if r['all_back_s'] is not None else 'not all: ' + str(r['back_total'])} "
            f"| {back['5s']:,} / {back['10s']:,} / {back['30s']:,} | {_fmt(r['to_back_s']['p50'], 1)} / {_fmt(r['to_back_s']['p99'], 1)} "
            f"| {r['attempts']:,} | {refusals} | {lost} | {_fmt(r['talker_latency_ms']['p99'])} | {_fmt(r['server_cpu_s'], 1)} |"
        )
    return "\n".join(lines)


def storm_plot(rows, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    for system in sorted({r["system"] for r in rows}, key=lambda name: _key({"system": name})):
        mine = sorted((r for r in rows if r["system"] == system and r["all_back_s"] is not None), key=lambda r: r["clients"])
        if mine:
            ax.plot([r["clients"] for r in mine], [r["all_back_s"] for r in mine], marker="o", label=system)
    ax.set_xlabel("clients reconnecting at the same instant")
    ax.set_ylabel("seconds until all are back")
    ax.set_title("A restart storm on one core (bench/storm.py)")
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def write_storm(rows, doc=DOC):
    """Replace the `bench:storm` block of the doc with the table, and draw benchmarks-storm.png."""
    start, end = "<!-- bench:storm:start -->", "<!-- bench:storm:end -->"
    storm_plot(rows, doc.parent / "benchmarks-storm.png")
    block = f"{start}\n![seconds until every client is back, by clients](benchmarks-storm.png)\n\n{storm_table(rows)}\n{end}"
    text = doc.read_text()
    if start not in text:
        text += f"\n{start}\n{end}\n"
    head, rest = text.split(start, 1)
    doc.write_text(head + block + rest.split(end, 1)[1])
    print(f"wrote {doc} and benchmarks-storm.png", file=sys.stderr)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--docs", action="store_true")
    p.add_argument("--png", type=Path, default=None)
    p.add_argument("--command", default="", help="the bench arguments of the run, for the docs")
    p.add_argument("--section", default="results", help="which bench:<section> block of the doc to replace")
    args = p.parse_args()
    rows = [json.loads(line) for f in args.files for line in f.read_text().splitlines() if line.strip()]
    if args.docs:
        write_docs(rows, argv_used=args.command, section=args.section)
    else:
        print(render(rows))
        if args.png:
            plot(rows, args.png)


if __name__ == "__main__":
    main()
