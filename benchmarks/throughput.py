"""Conversion throughput on a tree of scripts, as a ratio to a bare LibCST parse-and-print.

    python benchmarks/throughput.py TREE [--repeat 5] [--jobs 1] [--per-file 10]

Two commands run in fresh processes, interleaved, ``--repeat`` times each, on the same files:

* the floor: start Python, import LibCST, then read, parse and print every Python file that
  ``torch2lightning convert`` would look at in TREE (same discovery, same decoding);
* the tool: ``torch2lightning convert --check -q TREE`` (everything but the writing).

Prints the best and median wall times and the ratio of the best times (goal: at most 1.5), plus
how many files the pre-filter skipped. ``--per-file N`` also lists the N files the converter spends
most time on (in this process, after the timed runs).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

FLOOR = """
import sys
import libcst
from converter.files import decode_source
for name in open(sys.argv[1], encoding="utf-8").read().splitlines():
    with open(name, "rb") as handle:
        text, _ = decode_source(handle.read())
    libcst.parse_module(text).code
"""


def timed(cmd: list[str]) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 1, 123):
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr.decode()}")
    return elapsed, proc.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tree", type=Path)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--jobs", type=int, default=1, help="passed to convert -j")
    parser.add_argument("--per-file", type=int, default=0, metavar="N")
    parser.add_argument("--max-ratio", type=float, default=1.5)
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    from converter.files import decode_source, discover, might_contain_training

    found = discover([str(args.tree)])
    names = [str(s.path) for s in found.sources]
    if not names:
        sys.exit(f"{args.tree}: no Python files")
    lines = sum(Path(n).read_bytes().count(b"\n") for n in names)
    hinted = [n for n in names if might_contain_training(decode_source(Path(n).read_bytes())[0])]

    env_path = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    os.environ["PYTHONPATH"] = env_path
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
        listing.write("\n".join(names))
    floor_cmd = [sys.executable, "-c", FLOOR, listing.name]
    tool_cmd = [sys.executable, "-m", "converter", "convert", "--check", "-q"]
    tool_cmd += ["-j", str(args.jobs), str(args.tree)]
    try:
        timed(floor_cmd), timed(tool_cmd)  # warm caches and .pyc files
        floor, tool = [], []
        codes = set()
        for _ in range(args.repeat):
            floor.append(timed(floor_cmd)[0])
            t, code = timed(tool_cmd)
            tool.append(t)
            codes.add(code)
    finally:
        os.unlink(listing.name)

    ratio = min(tool) / min(floor)
    print(f"tree:      {args.tree} ({len(names)} Python files, {lines} lines)")
    skipped = len(names) - len(hinted)
    print(
        f"pre-filter: {skipped} files skipped without a parse, {len(hinted)} given to the converter"
    )
    print("floor (python + libcst parse and print of every file):")
    print(f"           best {min(floor):.3f} s, median {statistics.median(floor):.3f} s")
    print(f"convert --check -q -j {args.jobs} (exit {'/'.join(map(str, sorted(codes)))}):")
    print(f"           best {min(tool):.3f} s, median {statistics.median(tool):.3f} s")
    print(f"ratio (best/best): {ratio:.2f} (goal: at most {args.max_ratio:g})")

    if args.per_file:
        import libcst

        from converter import convert_source

        costs = []
        for name in hinted:
            text = decode_source(Path(name).read_bytes())[0]
            start = time.perf_counter()
            try:
                result = convert_source(text, filename=name)
                status = "converted" if result.changed else "declined"
            except libcst.ParserSyntaxError:
                status = "syntax error"
            convert_s = time.perf_counter() - start
            start = time.perf_counter()
            try:
                assert libcst.parse_module(text).code == text
            except libcst.ParserSyntaxError:
                pass
            costs.append((convert_s, time.perf_counter() - start, name, status))
        costs.sort(reverse=True)
        print(f"\nslowest {args.per_file} files (convert_source vs parse-and-print):")
        for convert_s, parse_s, name, status in costs[: args.per_file]:
            print(f"  {convert_s * 1000:8.1f} ms {parse_s * 1000:7.1f} ms  {status:<12} {name}")
        total = sum(c[0] for c in costs)
        print(f"  all {len(costs)}: convert_source {total:.3f} s in this process")
    print(
        json.dumps(
            {"files": len(names), "floor_s": min(floor), "tool_s": min(tool), "ratio": ratio}
        )
    )
    return 0 if ratio <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
