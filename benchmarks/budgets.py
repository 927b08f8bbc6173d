"""Time and peak memory of one file at the parse budgets, the figures the README gives.

    python benchmarks/budgets.py [--keep DIR]

Writes scripts with a training loop at the budgets' limits: one per shape of filler (the node
budget, `converter.parsing.MAX_NODES`, filled with short statements, calls, sums...), 256 KiB of
real code (the standard library's `_pydecimal.py` after the loop), and one 256 KiB file of
one-name statements, which the node budget refuses. Each runs `torch2lightning convert --check`
in a fresh process; its wall time and peak resident memory (``ru_maxrss``, Linux) are printed.
"""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from converter.parsing import MAX_NODES, MAX_SOURCE_CHARS  # noqa: E402

LOOP = """\
import torch
from torch import nn

model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
data = torch.utils.data.TensorDataset(torch.randn(8, 4), torch.randn(8, 1))
loader = torch.utils.data.DataLoader(data, batch_size=4)
for epoch in range(2):
    for x, y in loader:
        optimizer.zero_grad()
        loss = nn.functional.mse_loss(model(x), y)
        loss.backward()
        optimizer.step()
"""

FILLERS = {
    "sums": "x = " + " + ".join(["a"] * 95) + "\n",
    "assignments": "x = 1\n",
    "calls": "f(a, b)\n",
    "names": "a\n",
    "attribute calls": "y = a.b.c(d, e=f)\n",
    "subscripts": "x[i] = y[j] * 2\n",
}


def nodes(source: str) -> int:
    return sum(1 for n in ast.walk(ast.parse(source)) if not isinstance(n, ast.expr_context))


def scripts() -> dict[str, str]:
    out = {}
    base = nodes(LOOP)
    for name, line in FILLERS.items():
        lines = (MAX_NODES - base) // (nodes(line) - 1)  # less the Module node of `line`
        out[f"{name} ({MAX_NODES:,} nodes)"] = LOOP + line * lines
    real = (Path(ast.__file__).parent / "_pydecimal.py").read_text(encoding="utf-8")
    text = (LOOP + real)[: MAX_SOURCE_CHARS - 100]
    out["real code (256 KiB)"] = text[: text.rfind("\ndef ")] + "\n"
    out["names (256 KiB, refused)"] = LOOP + "a\n" * ((MAX_SOURCE_CHARS - len(LOOP)) // 2)
    return out


_PEAK = """
import resource, subprocess, sys
code = subprocess.run(sys.argv[1:], capture_output=True).returncode
print(code, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def measure(path: Path) -> tuple[int, float, float]:
    """(exit status, seconds, peak MiB) of `convert --check path` in a fresh process."""
    start = time.perf_counter()
    probe = subprocess.run(
        [sys.executable, "-c", _PEAK, sys.executable, "-m", "converter", "convert", "--check"]
        + [str(path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    seconds = time.perf_counter() - start
    code, peak = probe.stdout.split()
    return int(code), seconds, int(peak) / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="write the scripts here and keep them")
    args = parser.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="t2l-budgets-"))
    folder.mkdir(parents=True, exist_ok=True)
    print(f"{'file':34} {'KiB':>5} {'nodes':>7} {'exit':>4} {'seconds':>8} {'peak MiB':>9}")
    for i, (name, source) in enumerate(scripts().items()):
        path = folder / f"budget_{i}.py"
        path.write_text(source, encoding="utf-8")
        code, seconds, peak = measure(path)
        size = len(source.encode()) / 1024
        print(f"{name:34} {size:5.0f} {nodes(source):7,} {code:4} {seconds:8.1f} {peak:9.0f}")
    print(f"(max resident memory of each run; {sys.platform}, Python {sys.version.split()[0]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
