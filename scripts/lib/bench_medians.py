"""Prints the median of each figure of `scripts/bench against`'s logs, before and after.

A figure is a number in a line of a bench's output; lines are matched across rounds and
trees by their text with the numbers taken out, so any bench that prints a stable layout
is compared without knowing its format. Usage: bench_medians.py LOG_DIR
"""

import re
import statistics
import sys
from collections import defaultdict
from pathlib import Path

NUMBER = re.compile(r"(?<![A-Za-z_])-?\d[\d,]*(?:\.\d+)?")
# Lines of a bench that carry figures worth comparing (the rest is progress and setup).
FIGURES = {
    "server": re.compile(r"^(GET |POST |/me to bare|CPU per request)"),
    "sync": re.compile(r"^(full sync|  of the sync|transfer|peak memory|incremental|search|one exported)"),
    "unlock": re.compile(r"^\S.*time:\s+\["),
}


def figures(path, keep):
    """(skeleton, numbers) of each figure line of one log, in order."""
    out = []
    last_name = ""
    for line in path.read_text(errors="replace").splitlines():
        # criterion prints the name alone on a line when it is long, then `time:` below it
        if "time:" in line and line.strip().startswith("time:"):
            line = last_name + " " + line.strip()
        elif line and not line.startswith(" "):
            last_name = line.strip()
        if not keep.search(line):
            continue
        skeleton = NUMBER.sub("#", line).strip()
        nums = [float(n.replace(",", "")) for n in NUMBER.findall(line)]
        out.append((skeleton, nums))
    return out


def main(log_dir):
    logs = Path(log_dir)
    for bench, keep in FIGURES.items():
        series = defaultdict(lambda: defaultdict(list))  # skeleton -> tree -> [numbers per round]
        order = []
        for path in sorted(logs.glob(f"{bench}.*.log")):
            tree = path.name.split(".")[1]
            for skeleton, nums in figures(path, keep):
                if skeleton not in series:
                    order.append(skeleton)
                series[skeleton][tree].append(nums)
        if not order:
            continue
        print(f"\n== {bench} (before -> after, after/before)")
        for skeleton in order:
            before, after = series[skeleton]["before"], series[skeleton]["after"]
            if not before or not after:
                continue
            width = min(min(map(len, before)), min(map(len, after)))
            parts = []
            for i in range(width):
                b = statistics.median(r[i] for r in before)
                a = statistics.median(r[i] for r in after)
                ratio = f"{a / b:.2f}x" if b else "-"
                parts.append(f"{b:g} -> {a:g} ({ratio})")
            label = skeleton if len(skeleton) <= 90 else skeleton[:87] + "..."
            print(f"{label}\n    " + "; ".join(parts))


if __name__ == "__main__":
    main(sys.argv[1])
