"""Tensors in the hooks on the module's device: Lightning moves the model and the batches, not
the tensors the loop makes or reads from outside.

- A tensor the hooks create without a device (`torch.randn(n, 4)`, `torch.ones(...)`) becomes
  `torch.randn(n, 4).to(self.device)`: made on the CPU as the original made it (from the same
  random numbers), then moved.
- `.cuda()` on anything but the batch becomes `.to(self.device)`: the same on a GPU, and the
  conversion still runs where Lightning runs on the CPU.
- A tensor the hooks read from the script (`x` made at module level) is read as
  `x.to(self.device)`.
- A device the code names literally (`x.to("cuda")`, `device="cuda:0"`,
  `torch.device("cuda")`) becomes `self.device`: the conversion then runs on the CPU too, and on
  several GPUs each process uses its own (a batch's own move goes, as `.to(device)` does).

On the CPU each `.to(self.device)` returns the tensor itself: nothing changes there.

A function of the script that the hooks call, and that reads the script's tensors, makes new
ones without a device (`def test(model, mask): ... model(features)`) or passes on the batches of
a loader it iterates without moving them (`for x, y in loader: model(x)`), would put CPU tensors
next to a model Lightning moved to the GPU; it is the script's own code and stays as it is.
Where the script chose no device (it ran on the CPU), the Trainer then keeps to the CPU too:
`accelerator="cpu"`, and the report names the function.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import code, functions_called
from converter.analysis.index import SourceIndex
from converter.analysis.names import read_before_written
from converter.analysis.site import Hook, Moved, Role, TrainingSite
from converter.analysis.tensors import creates_tensor, is_tensor_name
from converter.analysis.walk import find
from converter.targets.trainer.patterns.base import Emission, Example, Pattern
from converter.templating import expr

_MOVED_ALREADY = m.Attribute(attr=m.Name("to") | m.Name("cuda") | m.Name("type_as") | m.Name("cpu"))
_CUDA = m.Call(func=m.Attribute(attr=m.Name("cuda")), args=[])


_CUDA_NAME = re.compile(r"cuda(:\d+)?")
_CUDA_INDEX = m.Call(func=m.Attribute(attr=m.Name("cuda")), args=[m.Arg(m.Integer(), keyword=None)])


def is_cuda_literal(index: SourceIndex, node: cst.CSTNode) -> bool:
    """A GPU the code names literally: "cuda", "cuda:1", `torch.device("cuda:0")`."""
    if isinstance(node, cst.SimpleString):
        value = node.evaluated_value
        return isinstance(value, str) and _CUDA_NAME.fullmatch(value) is not None
    return (
        isinstance(node, cst.Call)
        and index.resolves_to(node.func, "torch.device")
        and bool(node.args)
        and is_cuda_literal(index, node.args[0].value)
    )


@dataclass
class DeviceState:
    cpu_bound: list[cst.FunctionDef] = field(default_factory=list)  # see the module's docstring
    literal: list[cst.CSTNode] = field(default_factory=list)  # "cuda" -> self.device


class DeviceSafeHooks(Pattern):
    name = "device"
    example = Example(
        shape="tensors the loop makes (`torch.randn(n, 4)`), `.cuda()`",
        becomes="`.to(self.device)`: the same numbers, on the module's device",
        before="""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(3):
            for x, y in loader:
                optimizer.zero_grad()
                noise = torch.randn(x.shape[0], 4) * 0.01
                loss = nn.functional.mse_loss(model(x + noise), y)
                loss.backward()
                optimizer.step()
        """,
        after="""
            def training_step(self, batch, batch_idx):
                x, y = batch
                noise = torch.randn(x.shape[0], 4).to(self.device) * 0.01
                loss = nn.functional.mse_loss(self.model(x + noise), y)
                self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)
                return loss
        """,
    )
    State = DeviceState

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        if not site.names(Role.DEVICE) and "accelerator" not in out.trainer_options:
            found = _cpu_bound_functions(site, index)
            if found:
                site.state(self).cpu_bound = found
                out.option("accelerator", cst.SimpleString('"cpu"'))
        to_device = _to_device
        for (stage_name, hook), moved in site.hooks().items():
            if hook is Hook.CONFIGURE_OPTIMIZERS or not moved:
                continue
            stage = site.stages.get(stage_name)
            batch_names = (
                {n.value for n in find(stage.batch_target, cst.Name)}
                if stage is not None and hook.sees_batch
                else set()
            )
            outside = _outside_tensors(site, index, flow, moved)
            for item in moved:
                for call in find(item.node, cst.Call):
                    parent = index.parent(call)
                    for device in _literal_devices(index, call):
                        if _moves_batch(index, device, batch_names):
                            continue  # the batch's move goes as a whole
                        if not _sets_device(site, index, device):  # (`self.device = self.device`)
                            site.state(self).literal.append(device)
                        out.replacements[device] = lambda _updated: expr("self.device")
                    if creates_tensor(index, call) and not _has_device(call):
                        if not m.matches(parent, _MOVED_ALREADY):
                            out.replacements[call] = to_device
                    elif m.matches(call, _CUDA | _CUDA_INDEX) and not _rooted_in(
                        call.func.value, batch_names | site.model_vars
                    ):
                        out.replacements[call] = lambda u: u.with_changes(
                            func=u.func.with_changes(attr=cst.Name("to")),
                            args=[cst.Arg(expr("self.device"))],
                        )
                for name in find(item.node, cst.Name):
                    if name.value in outside and _is_read(index, name):
                        if not _device_free_use(index, name):
                            out.replacements[name] = to_device

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        for device in site.state(self).literal:
            report.change("device", index.line(device), f"{code(device)} -> self.device")
        functions = site.state(self).cpu_bound
        if functions:
            names = ", ".join(f"{f.name.value}()" for f in functions)
            report.change(
                "device",
                index.line(functions[0]),
                f'Trainer(accelerator="cpu"): {names}, called from the hooks, uses tensors made '
                "on the CPU (the script chose no device); move them to the model's device to "
                "train on a GPU",
            )


def _cpu_bound_functions(site: TrainingSite, index: SourceIndex) -> list[cst.FunctionDef]:
    """The script's functions the hooks call (directly or through each other) that read the
    script's tensors or make tensors without a device."""
    module_scope = index.body_scope(None)
    nodes = [
        item.node
        for (_, hook), moved in site.hooks().items()
        if hook is not Hook.CONFIGURE_OPTIMIZERS
        for item in moved
    ]

    def uses_cpu_tensors(function: cst.FunctionDef) -> bool:
        own = {p.name.value for p in function.params.params + function.params.kwonly_params}
        reads = read_before_written(index, [function.body]) - own
        return (
            any(
                creates_tensor(index, c)
                and not _has_device(c)
                and not m.matches(index.parent(c), _MOVED_ALREADY)
                for c in find(function.body, cst.Call)
            )
            or any(
                is_tensor_name(index, module_scope, n) for n in reads if module_scope.assignments[n]
            )
            or any(
                _passes_unmoved_batches(index, loop, own | site.model_vars)
                for loop in find(function.body, cst.For)
            )
        )

    return [f for f in functions_called(index, nodes) if uses_cpu_tensors(f)]


def _moves_batch(index: SourceIndex, device: cst.CSTNode, batch_names: set[str]) -> bool:
    """`x.to("cuda")` of the batch, which Lightning moves itself."""
    arg = index.parent(device)
    call = index.parent(arg) if isinstance(arg, cst.Arg) else None
    return (
        isinstance(call, cst.Call)
        and m.matches(call.func, m.Attribute(attr=m.Name("to")))
        and _rooted_in(call.func.value, batch_names)
    )


def _sets_device(site: TrainingSite, index: SourceIndex, device: cst.CSTNode) -> bool:
    """`gpu = torch.device("cuda:0")`, where `gpu` is a device the hooks read as self.device."""
    parent = index.parent(device)
    return (
        isinstance(parent, cst.Assign)
        and len(parent.targets) == 1
        and isinstance(parent.targets[0].target, cst.Name)
        and site.role_of(parent.targets[0].target.value) is Role.DEVICE
    )


def _literal_devices(index: SourceIndex, call: cst.Call) -> list[cst.BaseExpression]:
    """The devices `call` names literally: its `device=` keyword, `.to("cuda")`'s argument, or
    `torch.device("cuda")` itself."""
    found = [
        a.value
        for a in call.args
        if a.keyword is not None
        and a.keyword.value == "device"
        and isinstance(a.value, cst.SimpleString)  # torch.device(...) is found on its own
        and is_cuda_literal(index, a.value)
    ]
    positional = [a.value for a in call.args if a.keyword is None]
    if (
        m.matches(call.func, m.Attribute(attr=m.Name("to")))
        and positional
        and is_cuda_literal(index, positional[0])
        and not isinstance(positional[0], cst.Call)  # torch.device(...) is found on its own
    ):
        found.append(positional[0])
    if is_cuda_literal(index, call) and not isinstance(call, cst.SimpleString):
        found.append(call)
    return found


def _passes_unmoved_batches(index: SourceIndex, loop: cst.For, models: set[str]) -> bool:
    """`for x, y in loader: ... model(x)`: what the loop takes from its iterable (a loader's
    batches, made on the CPU) is passed, never moved, to a model: a call on one of the
    function's parameters or the script's models (`model(x)`, `criterion(out, y)`)."""
    taken = {n.value for n in find(loop.target, cst.Name)}
    uses = [n for n in find(loop.body, cst.Name) if n.value in taken]
    if any(m.matches(index.parent(n), _MOVED_ALREADY) for n in uses):
        return False
    for name in uses:
        arg = index.parent(name)
        call = index.parent(arg) if isinstance(arg, cst.Arg) else None
        if isinstance(call, cst.Call) and _rooted_in(call.func, models):
            return True
    return False


# Reads that need no tensor on the device: its shape, its length, or a move already there.
_SHAPE_ONLY = m.Attribute(
    attr=m.OneOf(*(m.Name(a) for a in "shape size dtype ndim dim numel".split()))
)


def _device_free_use(index: SourceIndex, name: cst.Name) -> bool:
    parent = index.parent(name)
    if m.matches(parent, _MOVED_ALREADY | _SHAPE_ONLY):
        return True
    call = index.parent(parent) if isinstance(parent, cst.Arg) else None
    return m.matches(call, m.Call(func=m.Name("len"), args=[m.Arg()]))


def _to_device(updated: cst.BaseExpression) -> cst.BaseExpression:
    return cst.Call(cst.Attribute(updated, cst.Name("to")), [cst.Arg(expr("self.device"))])


def _has_device(call: cst.Call) -> bool:
    return any(a.keyword is not None and a.keyword.value == "device" for a in call.args)


def _rooted_in(node: cst.BaseExpression, names: set[str]) -> bool:
    while isinstance(node, (cst.Attribute, cst.Subscript, cst.Call)):
        node = node.func if isinstance(node, cst.Call) else node.value
    return isinstance(node, cst.Name) and node.value in names


def _is_read(index: SourceIndex, name: cst.Name) -> bool:
    """A variable read (not an attribute's name, a keyword, or an assignment target)."""
    parent = index.parent(name)
    if isinstance(parent, cst.Attribute) and parent.attr is name:
        return False
    if isinstance(parent, cst.Arg) and parent.keyword is name:
        return False
    return not isinstance(parent, (cst.AssignTarget, cst.AugAssign, cst.For, cst.AsName))


def _outside_tensors(site: TrainingSite, index: SourceIndex, flow, moved: list[Moved]) -> set[str]:
    """Tensors of the script the hook reads (not its own locals, not shared attributes)."""
    found = set()
    read_first = read_before_written(index, [item.node for item in moved])
    for item in moved:
        for name in read_before_written(index, [item.node]) & read_first:
            if name in flow.attributes or site.role_of(name) is not None:
                continue
            if item.origin.argument(name) is not None or item.origin.is_local(name):
                continue
            scope = index.scope(item.node)
            owner = scope.lookup(name) if scope is not None else None
            if owner is not None and is_tensor_name(index, owner, name):
                found.add(name)
    return found


PATTERN = DeviceSafeHooks()
