"""Medians, the markdown report and the data the chart is drawn from."""

import statistics


def summarize(contenders, rounds):
    """One row per contender: medians over rounds, ratio and added cost against plain Envoy.

    `rounds` maps a contender name to its list of measurements (see `run_one` in bench/run).
    The added cost is estimated two ways: from throughput, (1/rps - 1/rps_plain), valid because
    Envoy is pinned to one saturated core; and from Envoy's own CPU time per request, which does
    not count time the core spent on other processes.
    """
    rows = []
    base = None
    for c in contenders:
        runs = rounds[c.name]
        rps = statistics.median(r["rps"] for r in runs)
        cpu = statistics.median(r["cpu_us"] for r in runs)
        row = {
            "name": c.name,
            "label": c.label,
            "notes": c.notes,
            "rps": rps,
            "rps_min": min(r["rps"] for r in runs),
            "rps_max": max(r["rps"] for r in runs),
            "p50_us": statistics.median(r["p50_us"] for r in runs),
            "p99_us": statistics.median(r["p99_us"] for r in runs),
            "cpu_us": cpu,
            "busy": statistics.median(r["busy"] for r in runs),
        }
        if base is None:
            base = row
        row["ratio"] = rps / base["rps"]
        row["added_us"] = (1.0 / rps - 1.0 / base["rps"]) * 1e6
        row["added_cpu_us"] = cpu - base["cpu_us"]
        rows.append(row)
    return rows


def _lat(us):
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.0f} µs"


def table(rows):
    head = ("| contender | rps (median) | rps min-max | p50 | p99 | ratio to plain "
            "| µs added / req (from rps) | Envoy CPU µs / req | CPU µs added |")
    lines = [head, "|" + "---|" * 9]
    for r in rows:
        lines.append(
            f"| {r['label']} | {r['rps']:,.0f} | {r['rps_min']:,.0f}-{r['rps_max']:,.0f} "
            f"| {_lat(r['p50_us'])} | {_lat(r['p99_us'])} | {r['ratio']:.2f} "
            f"| {r['added_us']:+.1f} | {r['cpu_us']:.1f} | {r['added_cpu_us']:+.1f} |"
        )
    return "\n".join(lines)


def memory_table(rows):
    lines = [
        "| configuration | Envoy start to /ready | RSS, 1 worker | RSS, 2 workers | RSS per extra worker |",
        "|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['label']} | {r['ready_s']:.2f} s | {r['rss1_kib'] / 1024:.1f} MiB "
            f"| {r['rss2_kib'] / 1024:.1f} MiB | {(r['rss2_kib'] - r['rss1_kib']) / 1024:+.1f} MiB |"
        )
    return "\n".join(lines)
