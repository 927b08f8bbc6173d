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


CLASSIFIER = """\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        return self.fc(x)


def main():
    loader = torch.utils.data.DataLoader(
        list(zip(torch.randn(32, 4), torch.randint(0, 3, (32,)))), batch_size=8
    )
    model = Net()
{between}    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    log_every = 2
    for epoch in range(2):
        for i, (x, y) in enumerate(loader):
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            optimizer.step()
            if i % log_every == 0:
                print(loss.item())


main()
"""


def classifier(between: str = "    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)\n"):
    return CLASSIFIER.format(between=between)


def test_a_stateless_loss_is_built_in_init_and_the_model_created_after_its_settings():
    result = convert(classifier())
    assert not declined(result), result.report.text()
    init = hook(result, "__init__")
    assert "self.criterion = nn.CrossEntropyLoss(label_smoothing=0.1)" in init
    assert "criterion=None" not in result.code and "ignore=" not in result.code
    main = result.code.split("def main():")[1]
    assert "criterion = " not in main  # nothing at the site reads it any more
    assert "    log_every = 2\n    model = Net(log_every=log_every)\n" in main
    assert "model.hparams.log_every" not in main


def test_an_object_made_from_the_scripts_data_stays_an_argument_and_the_report_says_so():
    between = "    weights = torch.ones(3)\n    criterion = nn.CrossEntropyLoss(weight=weights)\n"
    result = convert(classifier(between))
    assert not declined(result), result.report.text()
    assert "criterion=None" in result.code
    said = " ".join(e.message for e in result.report.changed)
    assert "Net.load_from_checkpoint(path, criterion=...) needs them again" in said
    assert "Net(log_every) with save_hyperparameters(): a checkpoint records them" in said


def test_the_model_is_not_created_later_past_code_that_draws_random_numbers():
    between = "    noise = torch.randn(3)\n    criterion = nn.CrossEntropyLoss()\n"
    result = convert(classifier(between))
    assert not declined(result), result.report.text()
    main = result.code.split("def main():")[1]
    assert "    model = Net()\n" in main
    assert "model.hparams.log_every = log_every" in main


def test_a_function_parameter_every_call_passes_plain_data_is_a_saved_hyperparameter():
    source = classifier().replace("def main():", "def main(rate):").replace("main()", "main(0.5)")
    source = source.replace("lr=0.1", "lr=rate").replace("main(0.5)\n", "main(0.5)\nmain(0.1)\n")
    result = convert(source)
    assert not declined(result), result.report.text()
    assert "self.save_hyperparameters()" in result.code
    assert "lr=self.hparams.rate" in hook(result, "configure_optimizers")


def test_a_function_parameter_given_an_object_somewhere_stays_out_of_the_hyperparameters():
    source = classifier().replace("def main():", "def main(rate):").replace("main()", "main(0.5)")
    source = source.replace("lr=0.1", "lr=rate") + "main(torch.tensor(0.1))\n"
    result = convert(source)
    assert not declined(result), result.report.text()
    assert 'self.save_hyperparameters(ignore=["rate"])' in result.code
