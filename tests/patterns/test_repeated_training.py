"""Training inside another loop (a sweep, repetitions): each round becomes a new module and
Trainer, whose configure_optimizers makes the optimizer afresh. Exact where the script, too,
made the optimizer (and scaler) anew each round and carried no loop state over; else declined."""

import textwrap

from tests.patterns.snippets import STEP, convert, declined, hook

STEP_AMP = """\
optimizer.zero_grad()
with torch.autocast(device_type="cuda"):
    loss = model(x).pow(2).mean()
scaler.scale(loss).backward()
scaler.step(optimizer)
scaler.update()
"""


def repeated(before: str = "", each_round: str = "", step: str = STEP) -> str:
    return f"""\
import torch
from torch import nn

model = nn.Linear(4, 1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
{before}
for rep in range(2):
{textwrap.indent(each_round, "    ")}
    for epoch in range(2):
        for x in loader:
{textwrap.indent(step, "            ")}
"""


OPTIMIZER = "optimizer = torch.optim.Adam(model.parameters(), lr=0.1)\n"


def test_an_optimizer_made_each_round_converts_with_a_trainer_each_round():
    result = convert(repeated(each_round=OPTIMIZER))
    assert not declined(result), result.report.text()
    each_round = result.code.split("for rep in range(2):")[1]
    assert "lit_model = " in each_round and "trainer.fit(lit_model" in each_round


def test_an_optimizer_made_once_for_all_rounds_declines():
    reason = declined(convert(repeated(before=OPTIMIZER)))
    assert "`optimizer` is created once, before the loop at line 8 that repeats" in reason


def test_a_scaler_made_once_for_all_rounds_declines():
    result = convert(
        repeated(before="scaler = torch.amp.GradScaler()", each_round=OPTIMIZER, step=STEP_AMP)
    )
    assert "`scaler` is created once" in declined(result)


def test_loop_state_set_before_the_rounds_declines():
    step = STEP + "seen += 1\n"
    result = convert(repeated(before="seen = 0", each_round=OPTIMIZER, step=step))
    assert "`seen` is loop state that the module would hold" in declined(result)


def test_state_that_lives_within_a_step_still_converts():
    step = STEP + "last = loss.item()\nprint(last)\n"
    result = convert(repeated(each_round=OPTIMIZER, step=step))
    assert not declined(result), result.report.text()
    assert "print(last)" in hook(result, "training_step")
