"""Lightning's sanity check is kept where validation only computes its results, and turned off
(`num_sanity_val_steps=0`) where running it before training would print, write or carry state;
the epoch's code around the evaluation stays in training's hooks or in fit's validations."""

import pytest

from tests.patterns.snippets import convert, declined, hook, script, trainer_options

VAL_SETUP = "val_loader = torch.utils.data.DataLoader(torch.randn(16, 4), batch_size=8)"
EVALUATION = """\
model.eval()
total = 0.0
with torch.no_grad():
    for v in val_loader:
        out = model(v)
        total += torch.nn.functional.relu(out).sum().item() + len(v)
mean = total / len(val_loader)
model.train()
"""


def options(epoch_end: str, setup: str = "", batch: str | None = None) -> dict[str, str]:
    parts = {"setup": VAL_SETUP + "\n" + setup, "epoch_end": epoch_end}
    result = convert(script(batch, **parts) if batch else script(**parts))
    assert not declined(result), result.report.text()
    return trainer_options(result)


def test_a_validation_that_only_computes_keeps_the_sanity_check():
    assert "num_sanity_val_steps" not in options(EVALUATION + "print(epoch, mean)\n")


@pytest.mark.parametrize(
    ("evaluation", "setup"),
    [
        (EVALUATION.replace("mean = ", "print(total)\nmean = "), ""),  # it prints
        (EVALUATION.replace("mean = ", "history.append(total)\nmean = "), "history = []"),
        (EVALUATION.replace("mean = ", "torch.save(out, 'out.pt')\nmean = "), ""),
        (
            EVALUATION.replace("total = 0.0\n", "").replace(
                "mean = ", "best = min(best, total)\nmean = "
            ),
            "best = float('inf')\ntotal = 0.0",
        ),  # carried from one run to the next
    ],
)
def test_a_validation_with_effects_turns_the_sanity_check_off(evaluation, setup):
    assert options(evaluation, setup)["num_sanity_val_steps"] == "0"


def test_training_that_reads_a_validation_result_turns_the_sanity_check_off():
    batch = "optimizer.zero_grad()\nloss = model(x).pow(2).mean() * scale\nloss.backward()\n"
    batch += "optimizer.step()\n"
    epoch_end = EVALUATION.replace("mean = ", "scale = 1.0 / (1.0 + total)\nmean = ")
    assert options(epoch_end, "scale = 1.0", batch)["num_sanity_val_steps"] == "0"


def test_the_epoch_summary_runs_in_fits_validations_only():
    result = convert(script(setup=VAL_SETUP, epoch_end=EVALUATION + "print(epoch, mean)\n"))
    end = hook(result, "on_validation_epoch_end")
    guard = 'if self.trainer.state.fn == "fit" and not self.trainer.sanity_checking:'
    assert end.index("mean = ") < end.index(guard) < end.index("self.print(")
    assert hook(result, "on_train_epoch_end") is None


def test_the_wrap_up_before_evaluating_runs_after_the_last_batch():
    wrap_up = "last = loss.item()\n"
    result = convert(script(setup=VAL_SETUP, epoch_end=wrap_up + EVALUATION + "print(last)\n"))
    assert not declined(result), result.report.text()
    batch_end = hook(result, "on_train_batch_end")
    assert batch_end.startswith("if self.trainer.is_last_batch:"), batch_end
    assert "self.last = self.loss.item()" in batch_end
    assert "last" not in (hook(result, "on_validation_epoch_start") or "")
    assert "num_sanity_val_steps" not in trainer_options(result)


def test_a_validation_loader_with_a_generator_of_its_own_turns_the_sanity_check_off():
    setup = "val_loader = torch.utils.data.DataLoader(torch.randn(16, 4), batch_size=8, "
    setup += "shuffle=True, generator=torch.Generator())"
    result = convert(script(setup=setup, epoch_end=EVALUATION))
    assert not declined(result), result.report.text()
    assert trainer_options(result)["num_sanity_val_steps"] == "0"
