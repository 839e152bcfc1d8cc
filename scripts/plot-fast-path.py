#!/usr/bin/env python3
"""Plots the fast-path benchmark's latencies (scripts/bench-fast-path.sh writes them as JSON).

    plot-fast-path.py fast-path.json fast-path.png

The cumulative distribution of the latency from a reader's call to two verified cfrags, over
the fast path and over the chain, on a logarithmic time axis.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def cdf(values):
    ordered = sorted(values)
    count = len(ordered)
    return ordered, [(index + 1) / count for index in range(count)]


def main(source, target):
    with open(source) as file:
        measured = json.load(file)
    figure, axes = plt.subplots(figsize=(8, 4.5))
    for key, label in (("fast_ms", "fast path (kms_reencrypt)"), ("chain_ms", "on chain")):
        values = measured[key]
        if not values:
            continue
        x, y = cdf(values)
        axes.step(x, y, where="post", label=f"{label}, n = {len(values)}")
    axes.set_xscale("log")
    axes.set_xlabel("latency, call to 2 verified cfrags (ms, log scale)")
    axes.set_ylabel("fraction of decrypts")
    axes.set_title("2-of-3 policy, three KMS nodes on loopback")
    axes.axhline(0.95, color="grey", linewidth=0.5, linestyle="--")
    axes.grid(alpha=0.3, which="both")
    axes.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(target, dpi=120)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
