"""The model's own names that LightningModule has too: `self.device` becomes Lightning's, the
others are renamed in the class and where the script reaches them through the model, and a
submodule, parameter or buffer of such a name is declined (its state-dict key would change)."""

import pytest

from tests.patterns.snippets import convert, declined, hook, script

MODEL = """\
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, device):
        super().__init__()
{init}
        self.layer = nn.Linear(4, 1)

    def forward(self, x):
        return self.layer(x){forward}
{methods}
"""
LOOP = script().split("model = nn.Linear(4, 1)\n")[1].replace("import torch\n", "")


def conversion(init="", forward="", methods="", epoch_end=""):
    source = MODEL.format(
        init="\n".join("        " + line for line in init.splitlines()),
        forward=forward,
        methods=methods,
    )
    loop = LOOP.replace("optimizer = ", "model = Net(torch.device('cpu'))\noptimizer = ", 1)
    loop += "".join("    " + line + "\n" for line in epoch_end.splitlines())
    return convert(source + loop)


def test_the_models_device_is_lightnings():
    result = conversion("self.device = device", " + torch.zeros(1, device=self.device)")
    assert not declined(result), result.report.text()
    assert "self.device =" not in result.code
    assert "torch.zeros(1, device=self.device)" in result.code


@pytest.mark.parametrize(
    "attribute", ["logger", "hparams", "current_epoch", "trainer", "global_step", "precision"]
)
def test_an_attribute_lightning_has_is_renamed_everywhere(attribute):
    result = conversion(f"self.{attribute} = 0", epoch_end=f"model.{attribute} += 1")
    assert not declined(result), result.report.text()
    assert f"self.{attribute}_ = 0" in result.code
    assert f"self.{attribute}_ += 1" in hook(result, "on_train_epoch_end")
    assert f"self.{attribute} " not in result.code


@pytest.mark.parametrize("method", ["print", "log"])
def test_a_method_lightning_has_is_renamed_with_its_calls(method):
    methods = f"\n    def {method}(self, *args):\n        print('net', *args)\n"
    result = conversion(methods=methods, epoch_end=f"model.{method}(epoch)")
    assert not declined(result), result.report.text()
    assert f"def {method}_(self, *args):" in result.code
    assert f"self.{method}_(self.current_epoch)" in hook(result, "on_train_epoch_end")


def test_a_submodule_named_like_a_lightning_member_is_declined():
    result = conversion("self.logger = nn.Linear(1, 1)")
    assert "state-dict keys" in declined(result)


def test_a_buffer_named_like_a_lightning_member_is_declined():
    result = conversion("self.register_buffer('dtype', torch.zeros(1))")
    assert "state-dict keys" in declined(result)


def test_a_device_set_under_a_condition_is_declined():
    result = conversion("if device is not None:\n    self.device = device")
    assert "`self.device` is set where" in declined(result)


def test_names_lightning_does_not_have_stay():
    result = conversion("self.scale = 2", " * self.scale")
    assert not declined(result), result.report.text()
    assert "self.scale = 2" in result.code and "* self.scale" in result.code
