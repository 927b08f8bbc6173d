"""Gradient clipping on the Fabric target: under a mixed precision Fabric scales the gradients,
so the script's `clip_grad_norm_` becomes `fabric.clip_gradients` (which unscales them first)
where that is the same clip, and Fabric stays in 32 bits where it is not."""

from __future__ import annotations

import textwrap

import pytest

from converter import convert_source

SCRIPT = """\
import argparse
import torch
from torch import nn

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=2)
args = parser.parse_args()
model = nn.Sequential(nn.Linear(4, 8), nn.Linear(8, 1))
optimizer = torch.optim.SGD({parameters}, lr=0.1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
for epoch in range(args.epochs):
    for x in loader:
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        {clip}
        optimizer.step()
"""


def fabric(clip: str, parameters: str = "model.parameters()"):
    source = SCRIPT.format(clip=clip, parameters=parameters)
    result = convert_source(textwrap.dedent(source), target="fabric", filename="clip.py")
    assert not result.report.declined, result.report.text()
    return result


@pytest.mark.parametrize(
    "clip, expected",
    [
        (
            "torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)",
            "fabric.clip_gradients(model, optimizer, max_norm=1.0, error_if_nonfinite=False)",
        ),
        (
            "nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5, norm_type=1)",
            "fabric.clip_gradients(model, optimizer, max_norm=0.5, norm_type=1, "
            "error_if_nonfinite=False)",
        ),
        (
            "norm = nn.utils.clip_grad_norm_(model.parameters(), 2, error_if_nonfinite=True)",
            "norm = fabric.clip_gradients(model, optimizer, max_norm=2, error_if_nonfinite=True)",
        ),
        (
            "torch.nn.utils.clip_grad_value_(model.parameters(), 0.1)",
            "fabric.clip_gradients(model, optimizer, clip_val=0.1)",
        ),
    ],
    ids=["norm", "keywords", "returned norm", "value"],
)
def test_a_clip_of_the_trained_parameters_is_fabrics(clip, expected):
    result = fabric(clip)
    assert expected in result.code
    assert "utils.clip_grad_" not in result.code
    assert 'parser.add_argument("--precision"' in result.code  # any precision stays exact
    assert any(e.kind == "clip" for e in result.report.changed), result.report.text()


@pytest.mark.parametrize(
    "clip, parameters",
    [
        (
            "torch.nn.utils.clip_grad_norm_(list(model.parameters())[:2], 1.0)",
            "model.parameters()",
        ),
        ("torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)", "model[1].parameters()"),
        (
            "torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0, foreach=True)",
            "model.parameters()",
        ),
    ],
    ids=["part of the model", "optimizer of a part", "foreach"],
)
def test_another_clip_stays_and_fabric_stays_in_32_bits(clip, parameters):
    result = fabric(clip, parameters)
    assert clip in result.code
    assert "clip_gradients" not in result.code
    assert "Fabric(\n    accelerator=args.accelerator," in result.code or "Fabric(" in result.code
    assert 'precision="32-true"' in result.code
    assert 'parser.add_argument("--precision"' not in result.code
    assert "# 32-true: the script clips gradients itself" in result.code
    reasons = [e.message for e in result.report.changed if e.kind == "precision"]
    assert reasons and "would clip the gradients a mixed precision scales" in reasons[0]
