"""The golden cases of a commit under today's verify: EQUIVALENT on the whole outcome, and which
pass every Lightning use (`verify --lightning-uses`). The before/after figure of docs/coverage.md.

    python benchmarks/golden_uses.py REF out.json     # REF: a commit, e.g. f7b6634 or HEAD

Each case's input and committed output are read at REF (`git show`) and compared with
`torch2lightning verify CASE.in.py --against CASE.out.py --fake-data --lightning-uses --json`,
run from this checkout. The DDP case needs an environment of its own and is left out.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPT_ARGS = {"function_based": ["--epochs", "1", "--log-interval", "3"]}


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True).stdout


def main(ref: str, out: str) -> int:
    names = _git("ls-tree", "--name-only", ref, "tests/golden/").split()
    cases = sorted({Path(n).name[: -len(".in.py")] for n in names if n.endswith(".in.py")})
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for case in (c for c in cases if c != "ddp"):
            for part in ("in", "out"):
                text = _git("show", f"{ref}:tests/golden/{case}.{part}.py")
                Path(tmp, f"{case}.{part}.py").write_text(text)
            command = [sys.executable, "-m", "converter", "verify", f"{tmp}/{case}.in.py"]
            command += ["--against", f"{tmp}/{case}.out.py", "--fake-data", "--lightning-uses"]
            command += ["--json", "--", *SCRIPT_ARGS.get(case, [])]
            run = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, timeout=900)
            try:
                data = json.loads(run.stdout)
            except ValueError:
                data = {}
            uses = (data.get("lightning_uses") or {}).get("checks") or []
            failed = [
                f"{c['check']}: {c.get('detail') or ''}" for c in uses if c["status"] == "FAIL"
            ]
            results[case] = {
                "exit": run.returncode,
                "verdict": data.get("message") or data.get("verdict") or "",
                "uses_checked": len(uses),
                "uses_failed": failed,
            }
            print(case, run.returncode, len(failed), flush=True)
    Path(out).write_text(json.dumps(results, indent=1))
    equivalent = sum(r["exit"] == 0 for r in results.values())
    passing = sum(bool(r["uses_checked"]) and not r["uses_failed"] for r in results.values())
    print(f"{equivalent} of {len(results)} EQUIVALENT; {passing} pass every Lightning use")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
