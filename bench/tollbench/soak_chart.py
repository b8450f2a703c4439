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
    rss.plot(t, [float(r["rss_mib"]) for r in rows], color="#4a7bb7")
    rss.set_ylabel("Envoy RSS (MiB)")
    rss.set_ylim(bottom=0)
    wasm.plot(t, [float(r["wasm_memory_mib"]) for r in rows], color="#d9822b")
    wasm.set_ylabel("wasm VM memory (MiB)")
    wasm.set_ylim(bottom=0)
    wasm.set_xlabel("seconds of mixed load")
    requests = int(rows[-1]["requests"]) if rows else 0
    fig.suptitle(f"Tollgate soak: Envoy --concurrency 2, {requests:,} requests")
    fig.tight_layout()
    fig.savefig(png_path, dpi=100)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
