"""What a `print(...)` shows: each value it formats, and the words the line puts before it.

`print(f"val loss: {loss / n:.4f}")`, `print("val loss: {:.4f}".format(loss / n))`,
`print("val loss: %.4f" % (loss / n))` and `print("val loss:", loss / n)` all show `loss / n`
after the text "val loss: ". The label of a value is the phrase nearest before it (back to a
comma, colon, bracket...), looking further back over values with no words between them
(`Accuracy: {}/{} ({:.0f}%)`: the percentage is labelled "Accuracy").
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass

import libcst as cst

# What a metric's label may say it is; the last one the label names is the metric.
METRIC_WORDS = frozenset(
    """accuracy acc loss error err perplexity ppl precision recall f1 auc mse mae rmse iou dice
    bleu score top1 top5 psnr ssim""".split()
)
_PERCENT_SPEC = re.compile(
    r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]"
)
_PHRASE_END = re.compile(r"[,;:|=\n\t()\[\]{}<>/]|\\n|\\t")
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9]*")


@dataclass(frozen=True)
class Shown:
    value: cst.BaseExpression
    words: tuple[str, ...]  # the label's words, lower case (empty: none)


def shown_values(call: cst.Call) -> list[Shown]:
    """The values `print(...)` formats, each with its label; [] for a shape not understood."""
    pieces: list[str | cst.BaseExpression] = []  # text and values, in the order printed
    for arg in call.args:
        if arg.keyword is not None:
            continue
        if arg.star:
            return []
        if pieces and not isinstance(pieces[-1], str):
            pieces.append(" ")
        found = _pieces(arg.value)
        if found is None:
            return []
        pieces += found
    shown, texts = [], []
    for piece in pieces:
        if isinstance(piece, str):
            texts.append(piece)
        else:
            shown.append(Shown(piece, _label(texts)))
            texts.append("")  # a value: the words before it are further back
    return shown


def _pieces(value: cst.BaseExpression) -> list[str | cst.BaseExpression] | None:
    if isinstance(value, cst.SimpleString):
        return [value.evaluated_value]
    if isinstance(value, cst.FormattedString):
        return [
            part.value if isinstance(part, cst.FormattedStringText) else part.expression
            for part in value.parts
        ]
    if (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Attribute)
        and value.func.attr.value == "format"
        and isinstance(value.func.value, cst.SimpleString)
    ):
        return _format_pieces(value.func.value.evaluated_value, value.args)
    if (
        isinstance(value, cst.BinaryOperation)
        and isinstance(value.operator, cst.Modulo)
        and isinstance(value.left, cst.SimpleString)
    ):
        right = value.right
        values = [e.value for e in right.elements] if isinstance(right, cst.Tuple) else [right]
        texts = _PERCENT_SPEC.split(value.left.evaluated_value)
        specs = _PERCENT_SPEC.findall(value.left.evaluated_value)
        if any(spec == "%%" or "(" in spec or "*" in spec for spec in specs):
            return None
        if len(specs) != len(values):
            return None
        pieces: list[str | cst.BaseExpression] = []
        for text, shown in zip(texts, [*values, None]):
            pieces.append(text)
            if shown is not None:
                pieces.append(shown)
        return pieces
    return [value]


def _format_pieces(template: str, args) -> list[str | cst.BaseExpression] | None:
    positional = [a.value for a in args if a.keyword is None and not a.star]
    keywords = {a.keyword.value: a.value for a in args if a.keyword is not None}
    if any(a.star for a in args):
        return None
    pieces: list[str | cst.BaseExpression] = []
    automatic = 0
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError:
        return None
    for text, field, _spec, _conversion in parsed:
        pieces.append(text)
        if field is None:
            continue
        key = re.split(r"[.\[]", field, maxsplit=1)[0]
        if key == "":
            key, automatic = str(automatic), automatic + 1
        if key.isdigit():
            if int(key) >= len(positional):
                return None
            pieces.append(positional[int(key)])
        elif key in keywords:
            pieces.append(keywords[key])
        else:
            return None
    return pieces


def _label(texts: list[str]) -> tuple[str, ...]:
    """The words of the nearest phrase before a value (over values with no words between)."""
    for text in reversed(texts):
        phrases = [p for p in _PHRASE_END.split(text) if _WORD.search(p)]
        if phrases:
            words = _WORD.findall(phrases[-1].replace("_", " "))
            return tuple(w.lower() for w in words)
    return ()
