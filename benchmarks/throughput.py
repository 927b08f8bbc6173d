"""Conversion throughput, as a ratio to a bare LibCST parse-and-print (a tree) or to importing the
converter's two dependencies (one file: a pre-commit hook on one staged script).

    python benchmarks/throughput.py TREE [--repeat 7] [--jobs 1] [--per-file 10]
    python benchmarks/throughput.py TREE --converting-only     # the files it converts
    python benchmarks/throughput.py --one FILE [--repeat 15]

Two commands run in fresh processes, interleaved, ``--repeat`` times each, on the same files:

* the floor: for a tree, start Python, import LibCST, then read, parse and print every Python
  file that ``torch2lightning convert`` would look at in TREE (same discovery, same decoding);
  for one file, ``python -c "import libcst, click"``;
* the tool: ``torch2lightning convert --check -q TREE`` (everything but the writing), or the same
  on FILE.

Prints, for each, the median CPU time of the whole process (user + system, what the machine's
other load disturbs least) and the best wall time, and the ratio of the CPU medians (goal: at
most 1.5), plus how many files the pre-filter skipped. ``--per-file N`` also lists the N files
the converter spends most time on (in this process, after the timed runs).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
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


IMPORTS = "import libcst, click"


#: Both sides run with their bytecode cached, as after `pip install`: a machine that sets
#: PYTHONDONTWRITEBYTECODE would otherwise compile every module of a checkout at every start
#: (libcst's own are compiled when pip installs it), and time that instead of the conversion.
ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(cmd: list[str]) -> tuple[float, float, int]:
    """(wall seconds, CPU seconds of the process and its children, exit code)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENVIRONMENT)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1, 123):
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr.decode()}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu, proc.returncode


def side_by_side(floor_cmd: list[str], tool_cmd: list[str], repeat: int) -> dict:
    """Both commands `repeat` times, interleaved so that the machine's noise hits both alike."""
    timed(floor_cmd), timed(tool_cmd)  # warm caches, write the .pyc files
    runs = {"floor": [], "tool": []}
    codes = set()
    for _ in range(repeat):
        runs["floor"].append(timed(floor_cmd))
        runs["tool"].append(timed(tool_cmd))
        codes.add(runs["tool"][-1][2])
    found = {"codes": sorted(codes)}
    for name, times in runs.items():
        found[name] = {
            "cpu_median_s": statistics.median(t[1] for t in times),
            "wall_best_s": min(t[0] for t in times),
        }
    found["ratio"] = found["tool"]["cpu_median_s"] / found["floor"]["cpu_median_s"]
    found["wall_ratio"] = found["tool"]["wall_best_s"] / found["floor"]["wall_best_s"]
    return found


def show(label: str, times: dict) -> None:
    print(f"{label}")
    cpu, wall = times["cpu_median_s"], times["wall_best_s"]
    print(f"           CPU median {cpu:.3f} s, wall best {wall:.3f} s")


def one_file(path: Path, repeat: int, max_ratio: float) -> int:
    tool_cmd = [sys.executable, "-m", "converter", "convert", "--check", "-q", str(path)]
    found = side_by_side([sys.executable, "-c", IMPORTS], tool_cmd, repeat)
    print(f"file:      {path}")
    show(f'floor (python -c "{IMPORTS}"):', found["floor"])
    show(f"convert --check -q FILE (exit {found['codes']}):", found["tool"])
    print(f"ratio (CPU medians): {found['ratio']:.2f} (goal: at most {max_ratio:g}); "
          f"wall best/best {found['wall_ratio']:.2f}")  # fmt: skip
    print(json.dumps({"file": str(path), **found}))
    return 0 if found["ratio"] <= max_ratio else 1


def converting(names: list[str]) -> list[str]:
    """The files `convert --check` would convert."""
    check = [sys.executable, "-m", "converter", "convert", "--check", *names]
    done = subprocess.run(check, capture_output=True, text=True, env=ENVIRONMENT)
    prefix = "would convert "
    lines = (done.stdout + done.stderr).splitlines()  # the report goes to stderr
    return [line[len(prefix) :] for line in lines if line.startswith(prefix)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tree", type=Path, nargs="?")
    parser.add_argument("--one", type=Path, metavar="FILE", help="one file against the imports")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--jobs", type=int, default=1, help="passed to convert -j")
    parser.add_argument("--per-file", type=int, default=0, metavar="N")
    parser.add_argument("--max-ratio", type=float, default=1.5)
    parser.add_argument(
        "--converting-only",
        action="store_true",
        help="only the files of TREE that the converter converts (a collection where every "
        "file converts), given to both commands by name",
    )
    args = parser.parse_args()

    sys.path.insert(0, str(ROOT))
    ENVIRONMENT["PYTHONPATH"] = str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")
    if args.one is not None:
        return one_file(args.one, args.repeat, args.max_ratio)
    if args.tree is None:
        parser.error("give a TREE, or --one FILE")
    from converter.files import decode_source, discover, might_contain_training

    found = discover([str(args.tree)])
    names = [str(s.path) for s in found.sources]
    if args.converting_only:
        names = converting(names)
    if not names:
        sys.exit(f"{args.tree}: no Python files")
    lines = sum(Path(n).read_bytes().count(b"\n") for n in names)
    hinted = [n for n in names if might_contain_training(decode_source(Path(n).read_bytes())[0])]

    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
        listing.write("\n".join(names))
    floor_cmd = [sys.executable, "-c", FLOOR, listing.name]
    tool_cmd = [sys.executable, "-m", "converter", "convert", "--check", "-q"]
    tool_cmd += ["-j", str(args.jobs), *(names if args.converting_only else [str(args.tree)])]
    try:
        found = side_by_side(floor_cmd, tool_cmd, args.repeat)
    finally:
        os.unlink(listing.name)

    only = ", those it converts" if args.converting_only else ""
    print(f"tree:      {args.tree} ({len(names)} Python files{only}, {lines} lines)")
    skipped = len(names) - len(hinted)
    print(
        f"pre-filter: {skipped} files skipped without a parse, {len(hinted)} given to the converter"
    )
    show("floor (python + libcst parse and print of every file):", found["floor"])
    show(f"convert --check -q -j {args.jobs} (exit {found['codes']}):", found["tool"])
    print(f"ratio (CPU medians): {found['ratio']:.2f} (goal: at most {args.max_ratio:g}); "
          f"wall best/best {found['wall_ratio']:.2f}")  # fmt: skip

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
    print(json.dumps({"tree": str(args.tree), "files": len(names), **found}))
    return 0 if found["ratio"] <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
