"""What torch's own names are, for every target: DDP, a GradScaler, autocast, a device, a step.

Both targets (the Trainer's patterns and Fabric's passes) recognise these the same way, so they
live here, below both, and are matched through qualified names (`SourceIndex.resolves_to`).
"""

from __future__ import annotations

import libcst as cst

from converter.analysis import match as m
from converter.analysis.index import SourceIndex

DDP = (
    "torch.nn.parallel.DistributedDataParallel",
    "torch.nn.parallel.distributed.DistributedDataParallel",
)


AUTOCAST = (
    "torch.autocast",
    "torch.amp.autocast",
    "torch.cuda.amp.autocast",
    "torch.cpu.amp.autocast",
)


SCALERS = (
    "torch.amp.GradScaler",
    "torch.cuda.amp.GradScaler",
    "torch.amp.grad_scaler.GradScaler",
    "torch.cuda.amp.grad_scaler.GradScaler",
)


STEP_CALL = m.Call(func=m.Attribute(attr=m.Name("step")))
BACKWARD_CALL = m.Call(func=m.Attribute(attr=m.Name("backward")))


def is_device(index: SourceIndex, value: cst.BaseExpression) -> bool:
    """`torch.device(...)`, `torch.accelerator.current_accelerator()`, `"cuda"`, or a
    conditional choosing between such values."""
    if isinstance(value, cst.IfExp):
        return is_device(index, value.body) and is_device(index, value.orelse)
    if isinstance(value, cst.SimpleString):
        return value.evaluated_value.split(":")[0] in ("cuda", "cpu", "mps", "xpu")
    return isinstance(value, cst.Call) and index.resolves_to(
        value.func, "torch.device", "torch.accelerator.current_accelerator"
    )
