"""Mode switches: `model.train()`/`model.eval()` around the steps are Lightning's to make, unless
the training stage switches to eval mode itself (Lightning restores train mode only after its
own evaluation loops), then the script's switches stay."""

import pytest

from tests.patterns.snippets import STEP, convert, declined, hook, script

EVALUATE = """\
def evaluate(model):
    model.eval()
    with torch.no_grad():
        return model(torch.ones(2, 4)).sum().item()


"""


def test_a_train_switch_in_the_batch_loop_is_lightnings():
    result = convert(script(batch="model.train()\n" + STEP))
    assert not declined(result), result.report.text()
    assert "train()" not in hook(result, "training_step")


@pytest.mark.parametrize(
    "epoch_end",
    ["model.eval()\nprint(model(torch.ones(2, 4)).sum().item())\n", "print(evaluate(model))\n"],
    ids=["in the epoch loop", "in a function it calls"],
)
def test_a_train_switch_stays_when_the_training_stage_evaluates(epoch_end):
    result = convert(EVALUATE + script(batch="model.train()\n" + STEP, epoch_end=epoch_end))
    assert not declined(result), result.report.text()
    assert hook(result, "training_step").startswith("self.model.train()")


def test_an_evaluation_through_nested_functions_counts():
    helpers = EVALUATE + "def report(model):\n    return evaluate(model)\n\n\n"
    source = helpers + script(batch="model.train()\n" + STEP, epoch_end="print(report(model))\n")
    result = convert(source)
    assert hook(result, "training_step").startswith("self.model.train()")


VALIDATION = """\
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 1)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        return self.drop(self.fc(x))


model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
{before}for epoch in range(2):
    model.train()
    for x in loader:
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
    model.eval()
    total = 0.0
    with torch.no_grad():
        for x in loader:
            total += model(x).sum().item()
{after_validation}print(model.training)
"""


def validation_script(before: str = "", after_validation: str = "") -> str:
    head = "import torch\nfrom torch import nn\n\n\n"
    return head + VALIDATION.format(before=before, after_validation=after_validation)


def after_fit(result) -> list[str]:
    lines = result.code.split("trainer.fit(")[1].splitlines()[1:]
    return [line for line in lines if line.strip()]


def test_after_fit_the_model_is_in_the_mode_the_last_evaluation_left():
    result = convert(validation_script())
    assert not declined(result), result.report.text()
    assert after_fit(result)[0].startswith("model.eval()  # as the loop left it")
    assert "`model.eval()` after fit" in " ".join(e.message for e in result.report.changed)


def test_a_model_in_eval_mode_when_training_starts_keeps_its_train_switch():
    result = convert(validation_script(before="model.eval()\n"))
    assert not declined(result), result.report.text()
    assert hook(result, "on_train_epoch_start") == "self.train()"
    assert after_fit(result)[0].startswith("model.eval()")


def test_a_function_called_before_training_that_evaluates_counts_as_eval_mode():
    helper = "def warm_up(net):\n    net.eval()\n    net(torch.zeros(1, 4))\n\n\n"
    result = convert(helper + validation_script(before="warm_up(model)\n"))
    assert not declined(result), result.report.text()
    assert hook(result, "on_train_epoch_start") == "self.model.train()"  # a wrapped model


EVALUATE_THEN = """\
def evaluate(model, loader):
    model.eval()
    total = 0.0
    with torch.no_grad():
        for x in loader:
            total += model(x).sum().item()
{then}    return total


"""


def evaluated(then: str, before: str = "", train_switch: bool = True) -> str:
    """The validation script, its evaluation a function that ends with `then`."""
    source = validation_script(before=before)
    loop = source[source.index("    model.eval()\n    total = 0.0") : source.index("print(model")]
    source = source.replace(loop, "    val = evaluate(model, loader)\n    print(val)\n")
    if not train_switch:
        source = source.replace("    model.train()\n    for x in loader:", "    for x in loader:")
    head, _, rest = source.partition("class Net")
    return head + EVALUATE_THEN.format(then=then) + "class Net" + rest


def test_an_evaluation_ending_in_train_mode_needs_no_switch_after_fit():
    result = convert(evaluated("    model.train()\n"))
    assert not declined(result), result.report.text()
    assert after_fit(result) == ["print(model.training)"]


def test_only_the_evaluation_switching_back_from_eval_mode_before_training_is_declined():
    source = evaluated("    model.train()\n", before="model.eval()\n", train_switch=False)
    assert "only the evaluation switches it to train mode" in declined(convert(source))


def test_a_mode_after_training_that_depends_on_a_condition_of_the_evaluation_is_declined():
    source = evaluated("    if total > 0:\n        model.train()\n")
    assert "depends on this statement" in declined(convert(source))


def test_the_mode_after_test_is_the_one_the_test_left():
    test_loop = "model.eval()\nfor x in loader:\n    print(model(x).sum().item())\n"
    result = convert(script(batch="model.train()\n" + STEP) + test_loop)
    assert not declined(result), result.report.text()
    after_test = result.code.split("trainer.test(")[1].splitlines()[1:]
    assert any(line.startswith("model.eval()  # as the test left it") for line in after_test)
