"""What the hooks read of the script's settings becomes a saved constructor argument, also when
they read it through an inlined function's parameter."""

from tests.patterns.snippets import convert, declined, hook

SCRIPT = """\
import argparse

import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--log-every", type=int, default=2)
args = parser.parse_args()
model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)


def train(epoch, model, optimizer, every):
    for x in loader:
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
    if epoch % every == 0:
        print(epoch, loss.item())


for epoch in range(4):
    train(epoch, model, optimizer, args.log_every)
"""


def test_an_option_passed_to_an_inlined_function_is_saved_and_read_from_hparams():
    result = convert(SCRIPT)
    assert not declined(result), result.report.text()
    assert "self.hparams.log_every" in hook(result, "on_train_epoch_end")
    assert "log_every=2" in result.code  # the constructor's parameter, the option's default
    assert "log_every=args.log_every" in result.code  # passed where the model is created
