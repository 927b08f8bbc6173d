"""verify's warm starts against ``--cold-start``, side by side, as a ratio.

    python benchmarks/warm_starts.py [CASE ...] [--repeat 3] [--flags "--lightning-uses"]

Each CASE is a golden (tests/golden/CASE.in.py against CASE.out.py, default: flat_script and
val_and_test), verified on fake data with and without ``--cold-start``, interleaved, ``--repeat``
times each. Prints, per case, the median wall time and the median CPU time of verify with all
its runs (user + system of the process tree), and the ratio warm / cold of each.
"""

from __future__ import annotations

import argparse
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden"


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the process tree); the command must succeed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    run = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if run.returncode != 0:
        sys.exit(f"failed: {shlex.join(cmd)}\n{run.stdout}{run.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", default=["flat_script", "val_and_test"])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--flags", default="--lightning-uses --devices 2")
    args = parser.parse_args()
    print(f"verify --fake-data {args.flags}, {args.repeat} runs each, interleaved")
    print(
        f"{'case':<16} {'warm wall':>10} {'cold wall':>10} {'ratio':>6}  "
        f"{'warm CPU':>9} {'cold CPU':>9} {'ratio':>6}"
    )
    for case in args.cases:
        base = [sys.executable, "-m", "converter", "verify", str(GOLDEN / f"{case}.in.py")]
        base += ["--against", str(GOLDEN / f"{case}.out.py"), "--fake-data"]
        base += shlex.split(args.flags)
        times: dict[str, list[tuple[float, float]]] = {"warm": [], "cold": []}
        for _ in range(args.repeat):
            for mode, extra in (("warm", []), ("cold", ["--cold-start"])):
                with tempfile.TemporaryDirectory() as work:
                    times[mode].append(timed([*base, *extra, "--work-dir", work]))
        wall = {m: statistics.median(t[0] for t in times[m]) for m in times}
        cpu = {m: statistics.median(t[1] for t in times[m]) for m in times}
        print(
            f"{case:<16} {wall['warm']:>9.1f}s {wall['cold']:>9.1f}s "
            f"{wall['warm'] / wall['cold']:>6.2f}  {cpu['warm']:>8.1f}s {cpu['cold']:>8.1f}s "
            f"{cpu['warm'] / cpu['cold']:>6.2f}"
        )


if __name__ == "__main__":
    main()
