"""docs/patterns.md, made from the patterns themselves: each pattern's own example (see
`base.Example`) and its module's docstring, which says why Lightning's way is the same.

    python -m converter.targets.trainer.patterns.catalog --write  # rewrite docs/patterns.md
    python -m converter.targets.trainer.patterns.catalog --check  # exit 1 when it is stale

tests/patterns/test_examples.py checks that the page is current.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

from converter.targets.trainer.patterns import PATTERNS
from converter.targets.trainer.patterns.base import Pattern

PAGE = Path(__file__).resolve().parents[4] / "docs" / "patterns.md"

_HEAD = """\
# What converts: the patterns

Generated from the patterns themselves
(`python -m converter.targets.trainer.patterns.catalog --write`): each module of
`converter/targets/trainer/patterns/` carries one example, a whole script *before* and the parts
of its conversion the pattern makes *after* (`...` skips the rest), and
`tests/patterns/test_examples.py` converts every example and checks that this page is current.
The examples are small on purpose; the golden cases (`tests/golden/`) are the full-size ones.
Beyond the patterns, every conversion turns the model class into a `LightningModule` (or wraps a
model built elsewhere, as `LitLinear` below) and the training loop into `Trainer.fit`.

| pattern | plain PyTorch | becomes |
| --- | --- | --- |
"""


def _patterns() -> list[Pattern]:
    return sorted(PATTERNS, key=lambda p: p.name)


def _why(pattern: Pattern) -> str:
    doc = inspect.getdoc(sys.modules[type(pattern).__module__]) or ""
    return doc.strip()


def markdown() -> str:
    """The page, from the patterns as they are now."""
    out = [_HEAD]
    for pattern in _patterns():
        example = pattern.example
        assert example is not None, f"{pattern.name} has no example"
        out.append(f"| [{pattern.name}](#{pattern.name}) | {example.shape} | {example.becomes} |\n")
    for pattern in _patterns():
        example = pattern.example
        assert example is not None
        module = type(pattern).__module__.replace(".", "/") + ".py"
        out += [
            f"\n## {pattern.name}\n\n",
            f"`{module}`: {_why(pattern)}\n\n",
            f"Before:\n\n```python\n{example.before}```\n\n",
            f"After:\n\n```python\n{example.after}```\n",
        ]
    return "".join(out)


def main(argv: list[str]) -> int:
    page = markdown()
    if argv == ["--write"]:
        PAGE.write_text(page, encoding="utf-8")
        return 0
    if argv == ["--check"]:
        current = PAGE.read_text(encoding="utf-8") if PAGE.exists() else ""
        if current != page:
            print(
                f"{PAGE} is stale: run python -m converter.targets.trainer.patterns.catalog --write"
            )
            return 1
        return 0
    sys.stdout.write(page)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
