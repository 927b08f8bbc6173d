"""The core of automatic optimization: optimizer (zero_grad/step), backward, scheduler, and
manual optimization for what the automatic loop cannot express."""

import pytest

from tests.patterns.snippets import STEP, changes, convert, declined, hook, script

ZERO, FORWARD, BACKWARD, OPT_STEP = STEP.splitlines()


def lines(*parts: str) -> str:
    return "\n".join(parts) + "\n"


def test_zero_grad_backward_and_step_are_lightnings():
    result = convert(script())
    step = hook(result, "training_step")
    assert "zero_grad" not in step and "backward" not in step and ".step(" not in step
    assert step.endswith("return loss")
    assert "optimizer = torch.optim.SGD(self.model.parameters(), lr=0.1)" in hook(
        result, "configure_optimizers"
    )


@pytest.mark.parametrize(
    "batch, reason",
    [
        (lines(FORWARD, BACKWARD, OPT_STEP), "never zeroed"),
        (lines(ZERO, FORWARD, OPT_STEP, BACKWARD), "unusual order"),
        (lines(ZERO, FORWARD, BACKWARD, OPT_STEP, OPT_STEP), "more than once"),
        (lines(ZERO, FORWARD, BACKWARD, "print(model.weight.grad)", OPT_STEP), "reads gradients"),
        (
            lines("optimizer.zero_grad(set_to_none=False)", FORWARD, BACKWARD, OPT_STEP),
            "set_to_none",
        ),
        (lines(ZERO, FORWARD, "loss.backward(retain_graph=True)", OPT_STEP), "arguments"),
    ],
    ids=[
        "no zero_grad",
        "step before backward",
        "two steps",
        "gradients read",
        "set_to_none",
        "retain_graph",
    ],
)
def test_optimization_the_trainer_cannot_repeat_is_declined(batch, reason):
    assert reason in declined(convert(script(batch)))


def test_zero_grad_set_to_none_true_is_lightnings_default():
    batch = lines("optimizer.zero_grad(set_to_none=True)", FORWARD, BACKWARD, OPT_STEP)
    assert not declined(convert(script(batch)))


@pytest.mark.parametrize(
    "batch",
    [
        lines(
            FORWARD,
            "(loss / 2).backward()",
            "if (i + 1) % 2 == 0:",
            "    optimizer.step()",
            "    optimizer.zero_grad()",
        ),
        lines(ZERO, FORWARD, BACKWARD, "optimizer.step(lambda: loss)"),
    ],
    ids=["accumulation by hand", "step with a closure"],
)
def test_steps_by_hand_become_manual_optimization(batch):
    result = convert(script(batch))
    assert not declined(result), result.report.text()
    step = hook(result, "training_step")
    assert step.startswith("optimizer = self.optimizers()")
    assert "self.manual_backward(" in step
    assert "self.automatic_optimization = False" in result.code
    assert "optimization: manual optimization" in changes(result)


def test_two_optimizers_become_manual_optimization():
    setup = "critic = nn.Linear(1, 1)\nopt_c = torch.optim.SGD(critic.parameters(), lr=0.1)"
    batch = lines(
        ZERO,
        FORWARD,
        BACKWARD,
        OPT_STEP,
        "opt_c.zero_grad()",
        "critic(model(x)).mean().backward()",
        "opt_c.step()",
    )
    result = convert(script(batch, setup=setup))
    assert not declined(result), result.report.text()
    assert hook(result, "training_step").startswith("optimizer, opt_c = self.optimizers()")
    assert hook(result, "configure_optimizers").endswith("return [optimizer, opt_c]")


@pytest.mark.parametrize(
    ("setup", "step", "returned"),
    [
        ("", "scheduler.step()", "return [optimizer], [scheduler]"),
        (
            "critic = nn.Linear(1, 1)\nopt_c = torch.optim.SGD(critic.parameters(), lr=0.1)\n"
            "sched_c = torch.optim.lr_scheduler.StepLR(opt_c, 1)",
            "scheduler.step()\n    sched_c.step()",
            "return [optimizer, opt_c], [sched_c, scheduler]",  # self.lr_schedulers()'s order
        ),
    ],
)
def test_schedulers_under_manual_optimization_are_stepped_where_the_loop_did(setup, step, returned):
    setup = "scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1)\n" + setup
    batch = lines(
        FORWARD,
        "(loss / 2).backward()",
        "if (i + 1) % 2 == 0:",
        "    optimizer.step()",
        "    optimizer.zero_grad()",
        "    " + step,
    )
    if "opt_c" in setup:
        batch += lines("opt_c.zero_grad()", "critic(model(x)).mean().backward()", "opt_c.step()")
    result = convert(script(batch, setup=setup))
    assert not declined(result), result.report.text()
    assert hook(result, "configure_optimizers").endswith(returned)
    assert "self.lr_schedulers()" in hook(result, "training_step").split("if (batch_idx + 1)")[1]


@pytest.mark.parametrize(
    "where, interval",
    [("batch", "step"), ("epoch", "epoch")],
)
def test_scheduler_interval_follows_where_it_steps(where, interval):
    setup = "scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1)"
    batch = STEP + ("scheduler.step()\n" if where == "batch" else "")
    epoch_end = "scheduler.step()\n" if where == "epoch" else ""
    result = convert(script(batch, setup=setup, epoch_end=epoch_end))
    assert f'"interval": "{interval}"' in hook(result, "configure_optimizers")
    assert "scheduler.step" not in result.code


def test_scheduler_stepped_at_the_epochs_start_steps_there():
    """Lightning's epoch interval steps at the end of the epoch, one epoch late: the step stays
    in on_train_epoch_start, in its place, and Lightning's own step is off."""
    setup = "scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1)"
    epoch_start = "print(epoch)\nscheduler.step()\nprint(scheduler.get_last_lr())\n"
    result = convert(script(setup=setup, epoch_start=epoch_start))
    assert not declined(result), result.report.text()
    assert hook(result, "on_train_epoch_start").splitlines() == [
        "self.print(self.current_epoch)",
        "self.lr_schedulers().step()",
        "self.print(self.lr_schedulers().get_last_lr())",
    ]
    assert hook(result, "lr_scheduler_step").startswith('"""Off: ')
    assert '"interval"' not in hook(result, "configure_optimizers")
    assert any("stepped at the start of each epoch" in c for c in changes(result))


def test_scheduler_stepped_at_the_start_and_the_end_of_the_epoch_is_declined():
    setup = "scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1)"
    step = "scheduler.step()\n"
    result = convert(script(setup=setup, epoch_start=step, epoch_end=step))
    assert "cannot repeat" in declined(result)


def test_plateau_stepped_at_the_epochs_start_is_declined():
    setup = PLATEAU_SETUP + "\nval_loss = 0.0"
    evaluate = EVALUATE.replace("plateau.step({metric})\n", "")
    result = convert(
        script(setup=setup, epoch_start="plateau.step(val_loss)\n", epoch_end=evaluate)
    )
    assert "ReduceLROnPlateau stepped at the start of the epoch" in declined(result)


@pytest.mark.parametrize(
    "batch, epoch_end, reason",
    [
        (STEP, "", "not stepped"),
        (STEP + "scheduler.step()\n", "scheduler.step()\n", "cannot repeat"),
        (STEP + "scheduler.step()\nscheduler.step()\n", "", "cannot repeat"),
        (STEP, "scheduler.step(loss)\n", "step() is the epoch number (deprecated by torch)"),
    ],
    ids=["never stepped", "stepped twice", "twice per batch", "stepped on a metric"],
)
def test_schedulers_lightning_cannot_step_are_declined(batch, epoch_end, reason):
    setup = "scheduler = torch.optim.lr_scheduler.StepLR(optimizer, 1)"
    assert reason in declined(convert(script(batch, setup=setup, epoch_end=epoch_end)))


PLATEAU_SETUP = """\
val_loader = torch.utils.data.DataLoader(torch.randn(16, 4), batch_size=8)
plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer)"""
EVALUATE = """\
val_loss = 0.0
with torch.no_grad():
    for v in val_loader:
        val_loss += model(v).pow(2).mean().item()
plateau.step({metric})
"""


def test_plateau_on_a_validation_metric_is_monitored():
    result = convert(script(setup=PLATEAU_SETUP, epoch_end=EVALUATE.format(metric="val_loss")))
    assert not declined(result), result.report.text()
    assert '"monitor": "val_loss"' in hook(result, "configure_optimizers")
    assert 'self.log("val_loss", self.val_loss)' in hook(result, "on_validation_epoch_end")


@pytest.mark.parametrize(
    ("metric", "hook_name"),
    [
        ("loss.item()", "on_train_epoch_end"),
        ("loss.item() * 2", "on_train_epoch_end"),
        ("val_loss / len(val_loader) + 0", "on_validation_epoch_end"),
    ],
    ids=["training loss", "expression", "validation expression"],
)
def test_plateau_on_another_value_logs_it_where_it_was_stepped(metric, hook_name):
    result = convert(script(setup=PLATEAU_SETUP, epoch_end=EVALUATE.format(metric=metric)))
    assert not declined(result), result.report.text()
    assert '"monitor": "plateau_metric"' in hook(result, "configure_optimizers")
    logged = [line for line in hook(result, hook_name).splitlines() if "plateau_metric" in line]
    assert len(logged) == 1 and logged[0].startswith('self.log("plateau_metric", ')
    assert logged[0].endswith(", sync_dist=True)")


def test_plateau_on_another_value_before_the_epochs_end_is_declined():
    epoch_end = "plateau.step(loss.item())\nif loss.item() < 0:\n    break\n"
    assert "before the end of the epoch's code" in declined(
        convert(script(setup=PLATEAU_SETUP, epoch_end=epoch_end))
    )


@pytest.mark.parametrize("step", ["plateau.step(metrics=loss.item())", "plateau.step()"])
def test_plateau_stepped_other_than_on_one_value_is_declined(step):
    assert "once per epoch on a metric" in declined(
        convert(script(setup=PLATEAU_SETUP, epoch_end=step + "\n"))
    )


def test_zeroing_before_the_batch_loop_is_redundant_when_the_loop_zeroes_itself():
    """`optimizer.zero_grad()` at the epoch's start, then zero/backward/step per batch (the
    train_one_epoch of many repositories): the gradients are zero then anyway."""
    result = convert(script(epoch_start="optimizer.zero_grad()"))
    assert not declined(result), result.report.text()
    assert "zero_grad" not in result.code


@pytest.mark.parametrize(
    "epoch_start, batch, reason",
    [
        ("optimizer.zero_grad()", lines(FORWARD, BACKWARD, OPT_STEP), "never zeroed"),
        ("optimizer.zero_grad(set_to_none=False)", STEP, "zero_grad() inside other statements"),
    ],
    ids=["the loop never zeroes", "an argument"],
)
def test_zeroing_before_the_batch_loop_alone_still_declines(epoch_start, batch, reason):
    assert reason in declined(convert(script(batch, epoch_start=epoch_start)))


GROUPS = """\
import torch
from torch import nn


def param_groups(model, weight_decay):
    decay = [p for n, p in model.named_parameters() if not n.endswith("bias")]
    rest = [p for n, p in model.named_parameters() if n.endswith("bias")]
    print("groups", len(decay), len(rest))
    return [{"params": decay, "weight_decay": weight_decay}, {"params": rest}]


model = nn.Linear(4, 1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
groups = param_groups(model, 0.01)
optimizer = torch.optim.AdamW(groups, lr=0.1)
for epoch in range(2):
    for x in loader:
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
"""


def test_parameter_groups_built_by_a_function_of_the_model_move_with_the_optimizer():
    result = convert(GROUPS)
    assert not declined(result), result.report.text()
    assert hook(result, "configure_optimizers").startswith(
        "groups = param_groups(self.model, 0.01)\noptimizer = torch.optim.AdamW(groups, lr=0.1)"
    )
    assert result.code.count("param_groups(") == 2  # its def, and one call: it prints


def test_parameter_groups_read_again_after_training_are_declined():
    assert "`groups`" in declined(convert(GROUPS + "print(len(groups))\n"))
