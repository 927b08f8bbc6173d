"""Compare two ``coverage.py --json`` results of one collection (before and after a change).

    python benchmarks/coverage_diff.py BEFORE.json AFTER.json [--markdown]

Prints the summary of each with the difference, then every file whose result changed (category,
or the decline reason). For a held-out collection (``held_out = true`` in its ``--config``) it
prints how many files moved from which result to which, never which files: nobody tunes the
converter on those.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from coverage import CATEGORIES, SHORT


def _load(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{path}: not a coverage.py --json result ({exc})") from None


def _result(entry: dict) -> str:
    if entry["category"] == "declined":
        return f"declined ({entry['detail']})"
    return SHORT[entry["category"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Compare two coverage.py --json results.")
    parser.add_argument("before", type=Path)
    parser.add_argument("after", type=Path)
    parser.add_argument("--markdown", action="store_true", help="Markdown tables")
    opts = parser.parse_args(argv)
    before, after = _load(opts.before), _load(opts.after)
    held_out = bool(before.get("collection", {}).get("held_out")) or bool(
        after.get("collection", {}).get("held_out")
    )
    md = opts.markdown
    print(f"before: converter {before['converter'][:12]}; after: {after['converter'][:12]}")
    print()
    print("| result | before | after | change |" if md else f"{'result':<26}before  after  change")
    if md:
        print("| --- | ---: | ---: | ---: |")
    for c in CATEGORIES:
        b, a = before["summary"].get(c, 0), after["summary"].get(c, 0)
        if md:
            print(f"| {SHORT[c]} | {b} | {a} | {a - b:+d} |")
        else:
            print(f"{SHORT[c]:<26}{b:>6} {a:>6} {a - b:>+7d}")
    old = {f["path"]: f for f in before["files"]}
    new = {f["path"]: f for f in after["files"]}
    moves = Counter()
    changed = []
    for path in sorted(set(old) | set(new)):
        was = _result(old[path]) if path in old else "(absent)"
        now = _result(new[path]) if path in new else "(absent)"
        if was != now:
            changed.append((path, was, now))
            moves[(was.split(" (")[0], now.split(" (")[0])] += 1
    print()
    if held_out:
        print("held-out collection: only the moves between results are shown")
        for (was, now), n in sorted(moves.items()):
            print(f"{n:>4}  {was} -> {now}")
    else:
        for path, was, now in changed:
            print(f"{path}: {was} -> {now}")
    if not changed:
        print("no file changed its result")
    return 0


if __name__ == "__main__":
    sys.exit(main())
