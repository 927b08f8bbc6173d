"""Notebooks and tutorials build a model or an optimizer more than once, and show single
backward() calls and hand-written update loops before they train with an optimizer. What a
training loop trains is the binding that reaches it; the lessons around it stay as they are."""

import pytest

from tests.patterns.snippets import convert, declined

HEAD = """\
import torch
from torch import nn

loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
"""

LOOP = """\
for epoch in range(2):
    for x in loader:
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
"""

CONVERTS = {
    "a demo model, then the trained one": """\
model = nn.Linear(4, 2)
print(model(torch.randn(1, 4)))
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
""",
    "a model from a factory that returns it with its transforms": """\
def create_model():
    return nn.Linear(4, 1), None


model, transforms = create_model()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
""",
    "the optimizer cell run twice": """\
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
""",
    "a single backward() to look at a gradient": """\
model = nn.Linear(4, 1)
model(torch.randn(1, 4)).sum().backward()
print(model.weight.grad)
model.zero_grad()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
""",
    "a loop that updates by hand first": """\
w = torch.zeros(4, requires_grad=True)
for x in loader:
    (x @ w).pow(2).mean().backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
""",
}


@pytest.mark.parametrize("setup", CONVERTS.values(), ids=CONVERTS.keys())
def test_the_binding_that_reaches_the_loop_is_trained(setup):
    result = convert(HEAD + setup + LOOP)
    assert not declined(result), result.report.text()
    assert "trainer.fit(" in result.code
    before_training = result.code.split("class Lit")[0]
    assert setup.splitlines()[0] in before_training  # what comes first stays where it was


def test_what_stays_is_named_in_the_report():
    result = convert(HEAD + CONVERTS["a single backward() to look at a gradient"] + LOOP)
    assert "backward() in no loop: it stays as it is" in result.report.text()
    result = convert(HEAD + CONVERTS["a loop that updates by hand first"] + LOOP)
    assert "a loop that steps no optimizer: it stays as it is" in result.report.text()


DECLINES = {
    "a model chosen in branches": (
        """\
if len(loader) > 2:
    model = nn.Linear(4, 1)
else:
    model = nn.Sequential(nn.Linear(4, 1))
model = nn.Linear(4, 1) if len(loader) > 9 else model
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
""",
        "`model` is not created by a call here",
    ),
    "a model created in a branch after the other": (
        """\
model = nn.Linear(4, 1)
if len(loader) > 2:
    model = nn.Sequential(nn.Linear(4, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
""",
        "`model` is created more than once before training (lines 5, 7), not one after the other",
    ),
    "only a single backward()": (
        "model = nn.Linear(4, 1)\nmodel(torch.randn(1, 4)).sum().backward()\n",
        "backward() is not inside a loop",
    ),
}


@pytest.mark.parametrize("setup, reason", DECLINES.values(), ids=DECLINES.keys())
def test_what_cannot_be_told_apart_declines(setup, reason):
    script = HEAD + setup + ("" if "only" in reason or "not inside" in reason else LOOP)
    assert reason in declined(convert(script))
