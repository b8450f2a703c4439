"""Draws the soak's memory curves: `python soak_chart.py soak.csv soak.png` (needs matplotlib)."""

import csv
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(csv_path, png_path):
    rows = list(csv.DictReader(open(csv_path)))
    t = [int(r["seconds"]) for r in rows]
    fig, (rss, wasm) = plt.subplots(2, 1, sharex=True, figsize=(10, 6))
    for ax, column, label, color in ((rss, "rss_mib", "Envoy RSS (MiB)", "#4a7bb7"),
                                     (wasm, "wasm_memory_mib", "wasm VM memory (MiB)", "#d9822b")):
        values = [float(r[column]) for r in rows]
        ax.plot(t, values, color=color, linewidth=2)
        ax.set_ylabel(label)
        ax.set_ylim(0, max(values + [1.0]) * 1.25)
    wasm.set_xlabel("seconds of mixed load")
    requests = int(rows[-1]["requests"]) if rows else 0
    fig.suptitle(f"Tollgate soak: Envoy --concurrency 2, {requests:,} requests")
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
