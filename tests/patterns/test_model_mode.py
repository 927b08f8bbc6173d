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
