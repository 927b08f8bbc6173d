"""Tensors in the hooks on the module's device: Lightning moves the model and the batches, not
the tensors the loop makes or reads from outside.

- A tensor the hooks create without a device (`torch.randn(n, 4)`, `torch.ones(...)`) becomes
  `torch.randn(n, 4).to(self.device)`: made on the CPU as the original made it (from the same
  random numbers), then moved.
- `.cuda()` on anything but the batch becomes `.to(self.device)`: the same on a GPU, and the
  conversion still runs where Lightning runs on the CPU.
- A tensor the hooks read from the script (`x` made at module level) is read as
  `x.to(self.device)`.

On the CPU each `.to(self.device)` returns the tensor itself: nothing changes there.
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from converter.analysis.index import SourceIndex
from converter.analysis.names import read_before_written
from converter.analysis.site import Hook, Moved, TrainingSite
from converter.analysis.tensors import creates_tensor, is_tensor_name
from converter.analysis.walk import find
from converter.patterns.base import Emission, Pattern
from converter.templating import expr

_MOVED_ALREADY = m.Attribute(attr=m.Name("to") | m.Name("cuda") | m.Name("type_as") | m.Name("cpu"))
_CUDA = m.Call(func=m.Attribute(attr=m.Name("cuda")), args=[])


class DeviceSafeHooks(Pattern):
    name = "device"

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
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
                    if creates_tensor(index, call) and not _has_device(call):
                        if not m.matches(parent, _MOVED_ALREADY):
                            out.replacements[call] = to_device
                    elif m.matches(call, _CUDA) and not _rooted_in(
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
