"""Start-up time of the command line, as a ratio to importing its two dependencies.

    python benchmarks/startup.py [--runs 30] [--max-ratio 2]

Times ``torch2lightning --version`` (the installed console script next to this Python, or
``python -m converter --version`` when there is none) against ``python -c "import libcst, click"``,
each run in a fresh process, the two interleaved so that machine noise hits both alike. Prints the
medians and their ratio; exits 1 when the ratio is above --max-ratio.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def command_under_test() -> list[str]:
    script = Path(sys.executable).with_name("torch2lightning")
    if script.exists():
        return [str(script), "--version"]
    found = shutil.which("torch2lightning")
    if found:
        return [found, "--version"]
    return [sys.executable, "-m", "converter", "--version"]


def timed(cmd: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--max-ratio", type=float, default=2.0)
    args = parser.parse_args()

    cli = command_under_test()
    floor = [sys.executable, "-c", "import libcst, click"]
    bare = [sys.executable, "-c", "pass"]
    for cmd in (cli, floor, bare):  # warm the file system cache and the .pyc files
        timed(cmd)
    times: dict[str, list[float]] = {"cli": [], "floor": [], "bare": []}
    for _ in range(args.runs):
        times["cli"].append(timed(cli))
        times["floor"].append(timed(floor))
        times["bare"].append(timed(bare))
    med = {k: statistics.median(v) for k, v in times.items()}
    ratio = med["cli"] / med["floor"]
    print(f"python:                          {sys.version.split()[0]} ({sys.executable})")
    print(f"runs:                            {args.runs} each, interleaved")
    print(f"python -c pass:                  median {med['bare'] * 1000:7.1f} ms")
    print(f"python -c 'import libcst, click': median {med['floor'] * 1000:6.1f} ms  (the floor)")
    print(
        f"{' '.join(Path(cli[0]).name if i == 0 else c for i, c in enumerate(cli)):<33}"
        f"median {med['cli'] * 1000:7.1f} ms"
    )
    print(f"ratio: {ratio:.2f} (goal: at most {args.max_ratio:g})")
    return 0 if ratio <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
