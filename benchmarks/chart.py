"""The benchmark run as a picture (``run.py --chart``): update latency against heap size
for each tool, and instance moves against instance count, with the machine and the date.
matplotlib is in the ``bench`` extra only; hotswap itself needs nothing."""

from __future__ import annotations

import datetime
import statistics
from typing import Any

COLORS = {"hotswap": "#d62728", "importlib.reload": "#7f7f7f", "autoreload": "#1f77b4",
          "jurigged": "#2ca02c"}


def _median_ms(res: dict[str, Any] | None, clock: str) -> float | None:
    if not res or res.get("error") or res.get("wrong") or not res.get(clock):
        return None
    return statistics.median(res[clock]) * 1000


def draw(raw: dict[str, Any], tools: list[str], machine: list[str], path: str) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    clock = "cpu" if raw.get("clock") == "cpu" else "times"
    heaps = raw.get("chart_heaps", [])
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.6))
    top = 0.0
    for tool in tools:
        xs, ys = [], []
        for heap in heaps:
            whole = raw["updates"].get(f"{tool}@{heap}@fn", {})
            ms = _median_ms(whole.get("scenarios", {}).get("fn"), clock)
            if ms is not None:
                xs.append(max(heap, 1000))  # 0 drawn at 1k: a log axis has no 0
                ys.append(ms)
        if xs:
            top = max(top, *ys)
            left.plot(xs, ys, "o-", label=tool, color=COLORS.get(tool),
                      linewidth=2.5 if tool == "hotswap" else 1.5)
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("objects alive in the program (0 drawn at 1k)")
    left.set_ylabel("one update, ms (median)")
    left.set_title("A function body edited in a 200-function module")
    left.grid(True, which="both", alpha=0.3)
    if top:
        left.set_ylim(top=top * 12)  # room above the lines for the legend
    left.legend(loc="upper center", ncol=2, fontsize=8)

    from run import move_costs

    for label, style in (("in C", "o-"), ("in Python", "s--")):
        costs = move_costs(raw, label)
        if costs:
            counts = list(costs)
            right.plot(counts, [costs[n][0] * 1000 for n in counts], style,
                       color=COLORS["hotswap"], alpha=1.0 if label == "in C" else 0.6,
                       label=f"hotswap, pass {label}" if label == "in C"
                       else "hotswap without its pass in C")
            if label == "in C":
                right.plot(counts, [costs[n][1] * 1000 for n in counts], ":",
                           color="black", label="one heap pass (same heap)")
                right.plot(counts, [(costs[n][1] + 2e-6 * n) * 1000 for n in counts], "-",
                           color="black", alpha=0.25, label="one pass + 2 µs per instance")
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("instances moved (a slot added to their __slots__ class)")
    right.set_ylabel("one update, ms (median)")
    right.set_title("Instances moved to a new layout")
    right.grid(True, which="both", alpha=0.3)
    right.legend(fontsize=8)

    cpu = next((ln.split(": ", 1)[1] for ln in machine if ln.startswith("cpu: ")), "?")
    python = next((ln.split(": ", 1)[1].split(" (")[0] for ln in machine
                   if ln.startswith("python: ")), "?")
    versions = next((ln.split(": ", 1)[1] for ln in machine if ln.startswith("tools: ")), "")
    when = datetime.date.today().isoformat()
    fig.suptitle("hotswap benchmarks (benchmarks/run.py --chart), "
                 f"{'CPU' if clock == 'cpu' else 'wall-clock'} time", fontsize=12)
    fig.text(0.5, 0.005, f"{when} · {cpu} · {python} · {versions}", ha="center",
             fontsize=7, color="#444444")
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    fig.savefig(path, format="svg", metadata={"Date": None})
    plt.close(fig)
    return path
