"""The safety net under every conversion (converter/output_check.py): a converted program that
would not compile, would read a name nothing binds, or would convert differently again is
declined instead of written. Here it is fed broken "conversions" of a real script directly."""

from __future__ import annotations

import libcst as cst
import pytest

from converter.analysis.index import SourceIndex
from converter.output_check import problem, unbound, unsaved_hyperparameters

ORIGINAL = """\
import torch
from torch import nn

model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
for x in torch.randn(4, 8, 4):
    optimizer.zero_grad()
    model(x).sum().backward()
    optimizer.step()
"""


def _index(code: str) -> SourceIndex:
    return SourceIndex(cst.parse_module(code), code)


def _same(index: SourceIndex) -> str:
    return index.module.code


@pytest.mark.parametrize(
    "converted, reason",
    [
        ("async def f():\n    pass\nawait f()\n", "does not compile: 'await' outside function"),
        ("def f():\n    return 1\n  x = 2\n", "does not compile"),
        ("import torch\nprint(optimizer)\n", "reads `optimizer`, which nothing binds"),
        ("from torch import nn\nloader = torch.utils.data.DataLoader([0])\n", "reads `torch`"),
        (
            "class M:\n    step = 1\n    def f(self):\n        return step\n",
            "reads `step`",  # a class body's names are not a method's
        ),
    ],
    ids=[
        "await at module level",
        "bad indentation",
        "removed but read",
        "needs an import",
        "class scope",
    ],
)
def test_broken_conversions_are_caught(converted, reason):
    found = problem(_index(ORIGINAL), converted, "train.py", _same)
    assert found is not None and reason in found


def test_a_conversion_that_converts_again_differently_is_caught():
    found = problem(_index(ORIGINAL), ORIGINAL, "train.py", lambda index: index.module.code + "\n")
    assert found == "converting it again changes it"


def test_names_the_original_already_left_unbound_are_not_the_conversions_fault():
    original = ORIGINAL + "print(undefined_in_the_original)\n"
    assert problem(_index(original), original, "train.py", _same) is None


def test_builtins_module_names_and_star_imports_count_as_bound():
    assert unbound(_index("print(__file__, len([]), __name__)\n")) == set()
    assert unbound(_index("from os.path import *\nprint(join)\n")) == set()
    assert unbound(_index("def f():\n    global g\n    g = 1\nprint(g)\n")) == set()
    assert unbound(_index("[y for y in range(3)]\nprint(y)\n")) == {"y"}


MODULE = """\
import pytorch_lightning as pl


class Net(pl.LightningModule):
    def __init__(self, model, lr=0.1, every=2):
        super().__init__()
        self.save_hyperparameters({saved})

    def configure_optimizers(self):
        return self.hparams.lr * self.hparams.every
"""


@pytest.mark.parametrize(
    "saved, unsaved",
    [
        ("", set()),
        ('ignore=["model"]', set()),
        ('ignore=["model", "every"]', {"every"}),
        ('"lr"', {"every"}),
        ("ignore=IGNORED", set()),  # cannot be told: not the check's to judge
    ],
)
def test_hyperparameters_the_hooks_read_must_be_saved(saved, unsaved):
    assert unsaved_hyperparameters(_index(MODULE.format(saved=saved))) == unsaved


def test_a_hyperparameter_read_but_not_saved_is_caught():
    converted = MODULE.format(saved='ignore=["model", "every"]')
    found = problem(_index(ORIGINAL), converted, "train.py", _same)
    assert found == "it reads `self.hparams.every`, which the module's __init__ does not save"


def test_hyperparameters_saved_from_a_namespace_are_not_judged():
    """`save_hyperparameters(args)` saves what the namespace holds, whatever `__init__` takes."""
    module = MODULE.format(saved="args").replace("self.hparams.every", "self.hparams.batch_size")
    assert unsaved_hyperparameters(_index(module)) == set()


def test_a_name_read_above_every_binding_of_it_is_a_problem_the_original_did_not_have():
    early = ORIGINAL.replace(
        "model = nn.Linear(4, 1)\n", "print(device)\nmodel = nn.Linear(4, 1)\ndevice = 'cpu'\n"
    )
    found = problem(_index(ORIGINAL), early, "x.py", _same)
    assert found == "its top-level code reads `device` before any statement binds it"


def test_a_read_above_its_binding_inside_a_loop_or_in_the_original_too_is_not():
    looped = ORIGINAL.replace("    optimizer.step()\n", "    optimizer.step()\n    last = x\n")
    looped = looped.replace(
        "    optimizer.zero_grad()\n",
        "    print(last if x is not None else 0)\n    optimizer.zero_grad()\n",
    )
    assert problem(_index(ORIGINAL), looped, "x.py", _same) is None
