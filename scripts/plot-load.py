#!/usr/bin/env python3
"""Plots the load benchmark's measurements (scripts/bench-load.sh writes them as JSON).

    plot-load.py load.json load.png

Left: the distribution of latencies (blocks from a request's block to its fulfilment's) at
each offered rate. Right: requests admitted and fulfilled per block, and deadlines missed,
against the rate offered.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(source, target):
    with open(source) as file:
        steps = json.load(file)
    labels = [f"{s['rate']}\n({s['rate'] * s['capsules']} caps)" for s in steps]
    figure, (latency, volume) = plt.subplots(1, 2, figsize=(12, 4.5))

    latency.boxplot(
        [s["latencies"] or [0] for s in steps],
        tick_labels=labels,
        whis=(5, 95),
        showfliers=True,
    )
    longest = max((max(s["latencies"]) for s in steps if s["latencies"]), default=1)
    latency.set_ylim(0, longest + 1)
    latency.yaxis.get_major_locator().set_params(integer=True)
    latency.set_xlabel("requests offered per block (capsules per block)")
    latency.set_ylabel("latency (blocks, request to fulfilment)")
    latency.set_title("Latency (box: quartiles, whiskers: 5th-95th percentile)")
    latency.grid(axis="y", alpha=0.3)

    rates = [s["rate"] for s in steps]
    per_block = lambda key: [s[key] / max(s["blocks"], 1) for s in steps]  # noqa: E731
    volume.plot(rates, rates, "k:", label="offered")
    volume.plot(rates, per_block("admitted"), "o-", label="admitted")
    volume.plot(rates, per_block("fulfilled"), "s--", label="fulfilled")
    volume.bar(rates, [s["missed"] for s in steps], width=0.6, color="red", alpha=0.5,
               label="missed deadlines (total)")
    volume.set_xlabel("requests offered per block")
    volume.set_ylabel("requests per block")
    volume.set_title("Throughput")
    volume.grid(alpha=0.3)
    volume.legend()

    capsules = steps[0]["capsules"] if steps else 0
    figure.suptitle(f"KMS Chain load benchmark: one dev node, {capsules} capsules per request")
    figure.tight_layout()
    figure.savefig(target, dpi=110)
    print(f"wrote {target}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] in ("-h", "--help"):
        print(__doc__.strip())
        sys.exit(0 if len(sys.argv) == 2 else 2)
    main(sys.argv[1], sys.argv[2])
