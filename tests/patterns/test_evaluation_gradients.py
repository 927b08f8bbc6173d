"""An evaluation that computes gradients gets `Trainer(inference_mode=False)`, and gradients on
for its run where the original evaluated with them on; one that does not keeps Lightning's
inference mode."""

import pytest

from tests.patterns.snippets import convert, declined, hook, script, trainer_options

VAL_SETUP = "val_loader = torch.utils.data.DataLoader(torch.randn(16, 4), batch_size=8)"
SALIENCY = """\
model.eval()
total = 0.0
for v in val_loader:
    v = v.clone().requires_grad_()
    (g,) = torch.autograd.grad(model(v).sum(), v)
    total += g.abs().sum().item()
model.train()
"""


def conversion(evaluation):
    result = convert(script(setup=VAL_SETUP, epoch_end=evaluation))
    assert not declined(result), result.report.text()
    return result


def test_an_evaluation_with_gradients_on_runs_with_them_on():
    result = conversion(SALIENCY)
    assert trainer_options(result)["inference_mode"] == "False"
    start = hook(result, "on_validation_epoch_start")
    assert "torch.set_grad_enabled(True)" in start


@pytest.mark.parametrize("switch", ["torch.enable_grad()", "torch.set_grad_enabled(True)"])
def test_an_evaluation_switching_gradients_on_itself_needs_no_inference_mode(switch):
    evaluation = f"""\
model.eval()
total = 0.0
with torch.no_grad():
    for v in val_loader:
        with {switch}:
            v = v.clone().requires_grad_()
            (g,) = torch.autograd.grad(model(v).sum(), v)
        total += g.abs().sum().item()
model.train()
"""
    result = conversion(evaluation)
    assert trainer_options(result)["inference_mode"] == "False"
    assert "set_grad_enabled(True)\n" not in result.code.split("class Lit")[1]


def test_an_evaluation_without_gradients_keeps_inference_mode():
    evaluation = SALIENCY.replace(".requires_grad_()", "").replace(
        "(g,) = torch.autograd.grad(model(v).sum(), v)", "g = model(v)"
    )
    result = conversion(evaluation)
    assert "inference_mode" not in trainer_options(result)
    assert "set_grad_enabled" not in result.code
