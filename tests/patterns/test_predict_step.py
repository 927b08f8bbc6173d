"""predict_step where the evaluation (else the training step) unpacks its batch and calls the
model once on what it unpacked: trainer.predict then returns the model's outputs, where
Lightning's default would hand the whole (x, y) batch to forward."""

import pytest

from tests.patterns.snippets import convert, declined, hook, script

PAIRS = "loader = torch.utils.data.DataLoader(list(zip(torch.randn(32, 4), torch.randn(32, 1))))"


def paired(batch: str, evaluation: str = "") -> str:
    source = script(batch=batch, epoch_end=evaluation)
    source = source.replace("for i, x in enumerate(loader):", "for i, (x, y) in enumerate(loader):")
    return source.replace(
        "loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)", PAIRS
    )


STEP_XY = """\
optimizer.zero_grad()
loss = (model(x) - y).pow(2).mean()
loss.backward()
optimizer.step()
"""

EVALUATION = """\
with torch.no_grad():
    for inputs, targets in loader:
        inputs, targets = inputs.to(device), targets.to(device)
        print((model(inputs) - targets).abs().sum().item())
"""


def test_the_training_steps_inputs_go_through_the_model():
    result = convert(paired(STEP_XY))
    assert not declined(result), result.report.text()
    assert hook(result, "predict_step") == "x, y = batch\nreturn self(x)"


def test_the_evaluations_unpacking_is_preferred_and_its_device_moves_dropped():
    source = paired(STEP_XY, EVALUATION).replace(
        "import torch\n", 'import torch\ndevice = torch.device("cpu")\n', 1
    )
    result = convert(source)
    assert not declined(result), result.report.text()
    assert hook(result, "predict_step") == "inputs, targets = batch\nreturn self(inputs)"


def test_a_whole_batch_handed_to_the_model_keeps_lightnings_own():
    result = convert(script())
    assert not declined(result), result.report.text()
    assert hook(result, "predict_step") is None


def test_inputs_shaped_with_torch_alone_are_shaped_the_same_way():
    step = "x = x.view(-1, 4).to(device)\nnoise = torch.ones(4)\n" + STEP_XY
    source = paired(step).replace("import torch\n", 'import torch\ndevice = "cpu"\n', 1)
    result = convert(source)
    assert not declined(result), result.report.text()
    assert hook(result, "predict_step") == "x, y = batch\nx = x.view(-1, 4)\nreturn self(x)"


@pytest.mark.parametrize(
    "shaping",
    [
        "x = x * scale\n",  # a global the hooks may read differently
        "x = model(x)\n",  # the model itself
        'x = x.to("cuda")\n',  # a device of its own
        "x = x.view(-1, 4)\nx += 1\n",  # changed in place
    ],
)
def test_inputs_changed_otherwise_before_the_call_are_not_guessed(shaping):
    source = paired(shaping + STEP_XY).replace("import torch\n", "import torch\nscale = 2\n", 1)
    assert hook(convert(source), "predict_step") is None


def test_two_model_calls_are_not_guessed():
    step = STEP_XY.replace("model(x) - y", "model(x) - model(y.repeat(1, 4))")
    assert hook(convert(paired(step)), "predict_step") is None


def test_a_batch_unpacked_in_the_loop_s_first_statement_is_unpacked_the_same_way():
    source = paired(STEP_XY).replace(
        "for i, (x, y) in enumerate(loader):", "for i, data in enumerate(loader):"
    )
    source = source.replace(
        "        optimizer.zero_grad()\n", "        x, y = data\n        optimizer.zero_grad()\n", 1
    )
    result = convert(source)
    assert not declined(result), result.report.text()
    assert hook(result, "predict_step") == "x, y = data\nreturn self(x)"


def test_a_model_not_given_the_batch_is_reported_without_a_predict_step():
    step = STEP_XY.replace("model(x) - y", "model(torch.randn(8, 4)) - y")
    result = convert(paired(step))
    assert not declined(result), result.report.text()
    assert hook(result, "predict_step") is None
    assert (
        "no predict_step: the model's inputs are not taken from the batch" in result.report.text()
    )


def test_lightnings_own_predict_step_is_not_reported():
    result = convert(script())
    assert "no predict_step" not in result.report.text()


def test_batch_moves_under_a_condition_of_their_own_are_dropped_too():
    step = "if use_gpu:\n    x = x.cuda()\n    y = y.cuda()\nx = x.view(-1, 4)\n" + STEP_XY
    source = paired(step).replace("import torch\n", "import torch\nuse_gpu = False\n", 1)
    result = convert(source)
    assert not declined(result), result.report.text()
    assert hook(result, "predict_step") == "x, y = batch\nx = x.view(-1, 4)\nreturn self(x)"
