"""An evaluation after training becomes trainer.test where Lightning runs it the same way; one
that stops after a batch (to show it) or runs a mode-sensitive model in training mode stays
plain code after fit instead of declining the whole file."""

import pytest

from tests.patterns.snippets import convert, declined

SCRIPT = """\
import torch
from torch import nn

model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.Linear(4, 1))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
test_loader = torch.utils.data.DataLoader(torch.randn(16, 4), batch_size=8)
for epoch in range(2):
    for x in loader:
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()

{evaluation}
"""

STAYS = {
    "one batch shown": """\
model.eval()
with torch.no_grad():
    for x in test_loader:
        print(model(x))
        break
""",
    "in training mode": """\
total = 0.0
with torch.no_grad():
    for x in test_loader:
        total += model(x).sum().item()
print(total)
""",
}


@pytest.mark.parametrize("evaluation", STAYS.values(), ids=STAYS.keys())
def test_an_evaluation_lightning_would_run_differently_stays_after_fit(evaluation):
    result = convert(SCRIPT.format(evaluation=evaluation))
    assert not declined(result), result.report.text()
    assert "trainer.test(" not in result.code and "def test_step" not in result.code
    assert result.code.rstrip().endswith(evaluation.rstrip())  # as it was, after trainer.fit


def test_an_evaluation_in_eval_mode_becomes_trainer_test():
    evaluation = STAYS["in training mode"].replace("total = 0.0\n", "total = 0.0\nmodel.eval()\n")
    result = convert(SCRIPT.format(evaluation=evaluation))
    assert not declined(result), result.report.text()
    assert "trainer.test(" in result.code and "def test_step" in result.code
