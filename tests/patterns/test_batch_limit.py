"""batch_limit: a break after a fixed number of batches -> Trainer(limit_train_batches=n)."""

import pytest

from tests.patterns.snippets import STEP, convert, declined, hook, script, trainer_options

CONVERTED = {
    "flag at the end": (STEP + "if DRY_RUN:\n    break\n", "1 if DRY_RUN else 1.0"),
    "index at the end": (STEP + "if i == 2:\n    break\n", "3"),
    "index past the end": (STEP + "if i > 2:\n    break\n", "4"),
    "index at the start": ("if i >= LIMIT:\n    break\n" + STEP, "LIMIT"),
    "pytorch/examples' dry run": (
        STEP + "if i % 10 == 0:\n    print(i)\n    if DRY_RUN:\n        break\n",
        "1 if DRY_RUN else 1.0",
    ),
    "index at the start, not the first": ("if i == 1:\n    break\n" + STEP, "1"),
}


@pytest.mark.parametrize("batch, limit", CONVERTED.values(), ids=CONVERTED)
def test_break_becomes_limit_train_batches(batch, limit):
    result = convert(script(batch, setup="DRY_RUN = False\nLIMIT = 2"))
    assert not declined(result), result.report.text()
    assert trainer_options(result)["limit_train_batches"] == limit
    assert "break" not in hook(result, "training_step")


def test_the_statements_before_the_break_stay():
    batch = STEP + "if i % 10 == 0:\n    print(i)\n    if DRY_RUN:\n        break\n"
    step = hook(convert(script(batch, setup="DRY_RUN = False")), "training_step")
    assert "if batch_idx % 10 == 0:\n    self.print(batch_idx)\n" in step


@pytest.mark.parametrize(
    "batch",
    [
        STEP + "if loss.item() < 0.1:\n    break\n",  # depends on the batch
        STEP + "if stop():\n    break\n",  # a call may change from batch to batch
        STEP + "if DRY_RUN:\n    break\n    print(i)\n",  # not the block's end
        STEP + "if DRY_RUN and i == 1:\n    break\n",  # a mixed condition
    ],
    ids=["data-dependent", "call", "statements after the break", "mixed condition"],
)
def test_other_breaks_are_declined(batch):
    result = convert(script(batch, setup="DRY_RUN = False\ndef stop():\n    return False\n"))
    assert "break" in declined(result)


def test_no_break_no_limit():
    assert "limit_train_batches" not in trainer_options(convert(script()))


def test_len_of_the_loader_stays_the_loaders_length():
    batch = STEP + "print(len(loader))\nif DRY_RUN:\n    break\n"
    step = hook(convert(script(batch, setup="DRY_RUN = False")), "training_step")
    assert "len(self.trainer.train_dataloader)" in step
