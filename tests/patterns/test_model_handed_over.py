"""A model handed to other code before training (`writer.add_graph(model, x)`, `summary(model)`)
keeps its nn.Module class, wrapped by a LightningModule; builtins like `print(model)` do not
count."""

import pytest

from tests.patterns.snippets import convert, declined

SCRIPT = """\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(4, 1)

    def forward(self, x):
        return self.layer(x)


def summary(module):
    return sum(p.numel() for p in module.parameters())


model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
{before}
for epoch in range(2):
    for x in loader:
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
"""


@pytest.mark.parametrize(
    "before, wrapped",
    [
        ("print(summary(model))", True),
        ("traced = torch.jit.trace(model, torch.randn(2, 4))", True),
        ("print(model)", False),
        ("print(len(list(model.parameters())))", False),
        ("", False),
    ],
    ids=["a function of the script", "a library function", "print", "its own method", "none"],
)
def test_a_model_handed_to_code_before_training_keeps_its_class(before, wrapped):
    result = convert(SCRIPT.format(before=before))
    assert not declined(result), result.report.text()
    assert ("class LitNet(pl.LightningModule)" in result.code) is wrapped
    assert ("class Net(pl.LightningModule)" in result.code) is not wrapped
