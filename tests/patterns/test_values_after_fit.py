"""Values the loop sets and the site reads after training are handed back from the module:
`loss = lit_model.loss` right after fit (after test for what the test hooks set)."""

import pytest

from tests.patterns.snippets import STEP, convert, declined, script

AFTER_FIT = "trainer.fit(lit_model, train_dataloaders=loader)\n"


def after_fit(result) -> str:
    """The code after the fit call, without blank lines."""
    after = result.code.split(AFTER_FIT, 1)[1]
    return "".join(line + "\n" for line in after.splitlines() if line.strip())


def test_the_last_loss_is_handed_back_after_fit():
    result = convert(script() + 'print("final", loss.item())\n')
    assert not declined(result), result.report.text()
    assert after_fit(result) == 'loss = lit_model.loss\nprint("final", loss.item())\n'
    assert "self.loss = " in result.code


def test_an_epoch_summary_value_is_handed_back():
    source = script(setup="best = 1e9", epoch_end="best = min(best, loss.item())\n")
    result = convert(source + "print(best)\n")
    assert not declined(result), result.report.text()
    assert after_fit(result).startswith("best = lit_model.best\n")


@pytest.mark.parametrize(
    "after",
    [
        "loss = model(torch.ones(1, 4)).sum()\nprint(loss.item())\n",
        "for loss in [1.0, 2.0]:\n    print(loss)\n",
    ],
    ids=["set first", "a loop sets it first"],
)
def test_a_value_the_site_sets_again_first_is_its_own(after):
    result = convert(script() + after)
    assert not declined(result), result.report.text()
    assert "lit_model.loss" not in result.code


def test_a_value_read_then_set_again_is_handed_back_once():
    after = "print(loss.item())\nloss = model(torch.ones(1, 4)).sum()\nprint(loss.item())\n"
    result = convert(script() + after)
    assert after_fit(result) == "loss = lit_model.loss\n" + after


def test_a_value_read_in_a_branch_after_a_conditional_set_is_handed_back():
    after = "if len(loader) > 10:\n    loss = 0\nprint(loss)\n"
    assert "loss = lit_model.loss\n" in after_fit(convert(script() + after))


def test_values_in_a_site_function_are_handed_back_there():
    source = "def main():\n" + "".join(
        "    " + line + "\n" for line in (script() + "print(loss.item())").splitlines()
    )
    result = convert(source)
    assert not declined(result), result.report.text()
    assert "    loss = lit_model.loss\n" in result.code.split("trainer.fit(")[1]


def test_the_epoch_variable_read_after_training_is_declined():
    # Lightning's epoch counter after fit is one past the original's last epoch
    result = convert(script() + "print(epoch)\n")
    assert "`epoch` is read after training but set inside the loop" in declined(result)


TEST_LOOP = """\
correct = 0
for x in loader:
    correct += int(model(x).sum() > 0)
"""


def test_a_test_loop_total_is_handed_back_after_test():
    # (a report right after the test loop would move into on_test_epoch_end with it)
    result = convert(script(STEP) + TEST_LOOP + 'print("done")\nprint(correct)\n')
    assert not declined(result), result.report.text()
    after_test = result.code.split("trainer.test(lit_model, dataloaders=loader)\n", 1)[1]
    assert after_test.endswith('correct = lit_model.correct\nprint("done")\nprint(correct)\n')


def test_a_test_total_read_before_the_test_loop_is_declined():
    source = script(STEP, setup="correct = 0") + "print(correct)\n" + TEST_LOOP
    assert "read before the test loop that sets it" in declined(convert(source))
