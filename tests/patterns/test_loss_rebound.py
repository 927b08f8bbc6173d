"""A step that rebinds its loss's name after backward() (`loss, current = loss.item(), ...`, the
shape of PyTorch's quickstart) keeps the tensor under its own name where backward() was, as the
hook names the loss, and training_step returns that."""

from tests.patterns.snippets import convert, declined

SCRIPT = """\
import torch
from torch import nn

model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
for epoch in range(2):
    for batch, x in enumerate(loader):
        loss = model(x).pow(2).mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if batch % 2 == 0:
            loss, current = loss.item(), batch
            print(f"loss {loss:.4f} at {current}")
{after}
"""


def test_the_tensor_is_kept_and_returned():
    result = convert(SCRIPT.replace("{after}", ""))
    assert not declined(result), result.report.text()
    assert (
        "        loss_tensor = loss  # what training_step returns for backward()\n" in result.code
    )
    assert "        return loss_tensor\n" in result.code
    assert "training_step returns the tensor as `loss_tensor`" in result.report.text()


def test_a_loss_that_lives_on_the_module_is_kept_as_the_hook_names_it():
    result = convert(SCRIPT.replace("{after}", 'print("last:", loss)'))
    assert not declined(result), result.report.text()
    assert "        loss_tensor = self.loss  # what training_step returns" in result.code
