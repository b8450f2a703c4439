"""Draws the rps-ratio bar chart: `python chart.py rows.json chart.png` (needs matplotlib)."""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(rows_path, png_path):
    meta = json.load(open(rows_path))
    rows = meta["rows"]
    labels = [r["label"] for r in rows][::-1]
    ratios = [r["ratio"] for r in rows][::-1]
    colors = ["#d9822b" if r["name"].startswith("tollgate") else "#4a7bb7" for r in rows][::-1]
    added = [r["added_cpu_us"] for r in rows][::-1]
    fig, (ax, cost) = plt.subplots(1, 2, sharey=True, figsize=(12, 0.55 * len(rows) + 1.8),
                                   gridspec_kw={"width_ratios": [3, 2]})
    bars = ax.barh(labels, ratios, color=colors)
    for bar, r in zip(bars, rows[::-1]):
        ax.text(bar.get_width() + 0.01, bar.get_y() + bar.get_height() / 2,
                f"{r['ratio']:.2f}  ({r['rps'] / 1000:.1f}k rps)", va="center", fontsize=9)
    ax.axvline(1.0, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xlim(0, max(1.3, max(ratios) + 0.3))
    ax.set_xlabel("rps relative to Envoy with no filter (higher is better)")
    bars = cost.barh(labels, added, color=colors)
    for bar, value in zip(bars, added):
        cost.text(max(bar.get_width(), 0) + 0.1, bar.get_y() + bar.get_height() / 2,
                  f"{value:+.1f} µs", va="center", fontsize=9)
    cost.set_xlim(min(0, min(added)), max(added) * 1.3 + 1)
    cost.set_xlabel("Envoy CPU µs added per request (lower is better)")
    fig.suptitle(meta["title"], fontsize=10)
    fig.tight_layout()
    fig.savefig(png_path, dpi=110)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
