"""Patterns that become Trainer options: gradient clipping, mixed precision, DDP boilerplate."""

import pytest

from tests.patterns.snippets import STEP, changes, convert, declined, hook, script, trainer_options

ZERO, FORWARD, BACKWARD, OPT_STEP = STEP.splitlines()
CLIP_NORM = "torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)"
CLIP_VALUE = "torch.nn.utils.clip_grad_value_(model.parameters(), clip_value=0.5)"


def lines(*parts: str) -> str:
    return "\n".join(parts) + "\n"


@pytest.mark.parametrize(
    "clip, options",
    [
        (CLIP_NORM, {"gradient_clip_val": "1.0"}),
        (CLIP_VALUE, {"gradient_clip_val": "0.5", "gradient_clip_algorithm": '"value"'}),
    ],
    ids=["norm", "value"],
)
def test_clipping_becomes_trainer_options(clip, options):
    result = convert(script(lines(ZERO, FORWARD, BACKWARD, clip, OPT_STEP)))
    assert options.items() <= trainer_options(result).items()
    assert "clip_grad" not in hook(result, "training_step")
    assert any(c.startswith("clipping:") for c in changes(result))


@pytest.mark.parametrize(
    "batch, reason",
    [
        (lines(ZERO, FORWARD, BACKWARD, OPT_STEP, CLIP_NORM), "outside backward() and step()"),
        (
            lines(
                ZERO, FORWARD, BACKWARD, "torch.nn.utils.clip_grad_norm_(model.bias, 1.0)", OPT_STEP
            ),
            "part of the model",
        ),
    ],
    ids=["after the step", "part of the model"],
)
def test_clipping_lightning_cannot_repeat_is_declined(batch, reason):
    assert reason in declined(convert(script(batch)))


def test_no_clipping_no_option():
    assert "gradient_clip_val" not in trainer_options(convert(script()))


AMP_SETUP = "scaler = torch.amp.GradScaler()"
AMP_STEP = lines(
    ZERO,
    'with torch.autocast(device_type="cuda"):',
    "    loss = model(x).pow(2).mean()",
    "scaler.scale(loss).backward()",
    "scaler.step(optimizer)",
    "scaler.update()",
)


def test_autocast_and_scaler_become_precision_where_the_original_had_it():
    result = convert(script(AMP_STEP, setup=AMP_SETUP))
    assert not declined(result), result.report.text()
    assert trainer_options(result)["precision"] == (
        '"16-mixed" if torch.cuda.is_available() else "32-true"'
    )
    step = hook(result, "training_step")
    assert "scaler" not in step and "autocast" not in step
    assert "scaler = " not in result.code


@pytest.mark.parametrize(
    "autocast, precision",
    [
        ('torch.autocast(device_type="cpu", dtype=torch.bfloat16)', '"bf16-mixed"'),
        (
            'torch.autocast("cuda", enabled=USE_AMP)',
            '"16-mixed" if USE_AMP and torch.cuda.is_available() else "32-true"',
        ),
    ],
    ids=["cpu bf16", "enabled flag"],
)
def test_autocast_arguments_map_to_the_precision(autocast, precision):
    batch = lines(
        ZERO, f"with {autocast}:", "    loss = model(x).pow(2).mean()", BACKWARD, OPT_STEP
    )
    result = convert(script(batch, setup="USE_AMP = True"))
    assert trainer_options(result)["precision"] == precision


@pytest.mark.parametrize(
    "batch, setup, reason",
    [
        (
            lines(
                ZERO,
                "with torch.autocast(device_type=DEVICE):",
                "    loss = model(x).pow(2).mean()",
                BACKWARD,
                OPT_STEP,
            ),
            'DEVICE = "cuda"',
            "chosen at run time",
        ),
        (
            lines(
                ZERO,
                FORWARD,
                "scaler.scale(loss).backward()",
                "scaler.step(optimizer)",
                "scaler.update()",
            ),
            AMP_SETUP,
            "without autocast",
        ),
    ],
    ids=["run-time device", "scaler without autocast"],
)
def test_mixed_precision_it_cannot_map_is_declined(batch, setup, reason):
    assert reason in declined(convert(script(batch, setup=setup)))


DDP = """\
import os

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel as DDP
from torch.utils.data.distributed import DistributedSampler

dist.init_process_group("gloo")
local_rank = int(os.environ["LOCAL_RANK"])
model = nn.Linear(4, 1)
model = DDP(model)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
data = torch.randn(32, 4)
sampler = DistributedSampler(data, shuffle=True)
loader = torch.utils.data.DataLoader(data, batch_size=8, sampler=sampler)
for epoch in range(2):
    sampler.set_epoch(epoch)
    for x in loader:
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
        {extra}
dist.destroy_process_group()
"""


def test_ddp_boilerplate_becomes_the_ddp_strategy():
    result = convert(DDP.format(extra="print(local_rank)"))
    assert not declined(result), result.report.text()
    assert trainer_options(result)["strategy"] == '"ddp"'
    assert "shuffle=True" in result.code and "DistributedSampler(" not in result.code
    assert "print(self.local_rank)" in hook(result, "training_step")
    assert "init_process_group" not in result.code and "set_epoch" not in result.code


def test_other_distributed_calls_are_declined():
    result = convert(DDP.format(extra="dist.all_reduce(loss)"))
    assert "is not converted" in declined(result)


def test_data_parallel_gives_way_to_the_trainers_devices():
    setup = "if torch.cuda.device_count() > 1:\n    model = nn.DataParallel(model)"
    result = convert(script(setup=setup))
    assert not declined(result), result.report.text()
    assert "DataParallel" not in result.code and "device_count" not in result.code
    assert any(c.startswith("devices: DataParallel") for c in changes(result))


def test_data_parallel_around_something_else_is_declined():
    setup = "other = nn.Linear(4, 1)\nmodel = nn.DataParallel(other)"
    assert declined(convert(script(setup=setup)))
