"""Arguments substituted into an f-string's braces keep the code valid before Python 3.12: their
strings change quotes, or the conversion declines where they cannot."""

import libcst as cst
import pytest

from converter.analysis.fstring_quotes import requoted
from tests.patterns.snippets import convert, declined

EVALUATION = """\
import torch
from torch import nn

model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
val_loader = torch.utils.data.DataLoader(torch.randn(16, 4), batch_size=8)


def evaluate(model, loader, what):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for x in loader:
            total += model(x).sum().item()
    print(f"{what}: {total:.4f}")


for epoch in range(2):
    model.train()
    for x in loader:
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
    evaluate(model, val_loader, {argument})
"""


@pytest.mark.parametrize(
    "argument",
    ['f"epoch {epoch} validation"', '"validation"', "'validation'", 'f"{epoch}" + "!"'],
)
def test_a_string_argument_inside_an_f_string_compiles(argument):
    result = convert(EVALUATION.replace("{argument}", argument))
    assert not declined(result), result.report.text()
    compile(result.code, "converted.py", "exec")
    assert "validation" in result.code or "!" in result.code


def test_an_argument_that_cannot_change_quotes_is_declined():
    result = convert(EVALUATION.replace("{argument}", """f"epoch {epoch} 'val'\""""))
    assert "cannot go inside this f-string" in declined(result)


@pytest.mark.parametrize(
    ("value", "quote", "expected"),
    [
        ('"a"', '"', "'a'"),
        ("'a'", '"', "'a'"),  # already the other quote
        ('f"a{b}"', '"', "f'a{b}'"),
        ('x + "a"', '"', "x + 'a'"),
        ('"a"', '"""', '"a"'),  # a triple-quoted f-string ends only at three quotes
        ("b", '"', "b"),
    ],
)
def test_requoted(value, quote, expected):
    result = requoted(cst.parse_expression(value), quote)
    assert cst.Module([]).code_for_node(result) == expected


@pytest.mark.parametrize("value", ['"it\'s"', '"a\\tb"'])
def test_requoted_gives_up_on_the_other_quote_or_a_backslash(value):
    assert requoted(cst.parse_expression(value), '"') is None
