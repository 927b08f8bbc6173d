"""Gradient clipping in a Fabric conversion.

Under a mixed precision Fabric scales the loss in `fabric.backward`, so the gradients a plain
`torch.nn.utils.clip_grad_norm_` sees are scaled: it would clip them against a norm thousands of
times too large. `fabric.clip_gradients(model, optimizer, max_norm=...)` unscales them first (and
under 32-true it is the same call on the same tensors: the parameters of the optimizer, in its
order). So, in a script without mixed precision of its own (whose Fabric may be given
`--precision 16-mixed`):

- `clip_grad_norm_(model.parameters(), v[, norm_type])` -> `fabric.clip_gradients(model,
  optimizer, max_norm=v, error_if_nonfinite=False)` (torch's default; Fabric's is True), and
  `clip_grad_value_(model.parameters(), v)` -> `fabric.clip_gradients(model, optimizer,
  clip_val=v)`, where one optimizer trains exactly `model.parameters()`;
- any other clip (a part of the model, several optimizers, `foreach=`) stays as it is and Fabric
  stays in 32 bits (`precision="32-true"`, no `--precision` flag), where it is exact.

A script with mixed precision of its own keeps its clip: mapped onto Fabric's precision, its clip
saw the scaler's gradients as Fabric's clip would not; kept, its own `unscale_()` comes first.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import assigned_call, code
from converter.analysis.index import SourceIndex
from converter.analysis.site import Declined
from converter.targets.fabric.amp import PINNED
from converter.targets.fabric.context import Context, make_call
from converter.targets.fabric.roles import Roles, resolve

_NORM = ("torch.nn.utils.clip_grad_norm_", "torch.nn.utils.clip_grad.clip_grad_norm_")
_VALUE = ("torch.nn.utils.clip_grad_value_", "torch.nn.utils.clip_grad.clip_grad_value_")
#: the script's arguments after the parameters -> Fabric's keywords
_KEYWORDS = {
    "norm": ("max_norm", "norm_type", "error_if_nonfinite"),
    "value": ("clip_val",),
}
_SCRIPT_KEYWORDS = {
    "norm": ("max_norm", "norm_type", "error_if_nonfinite"),
    "value": ("clip_value",),
}


@dataclass
class Clip:
    call: cst.Call
    kind: str  # "norm" or "value"
    model: cst.BaseExpression  # as the call writes it
    optimizer: cst.Name  # as the function that clips names it
    arguments: list[tuple[str, cst.BaseExpression]]  # Fabric's keyword -> the script's value


@dataclass
class Clips:
    exact: list[Clip] = field(default_factory=list)
    pinned: str | None = None  # why Fabric stays in 32 bits (a clip it cannot take)
    line: int = 0

    @property
    def precision(self) -> cst.BaseExpression | None:
        return cst.SimpleString(PINNED) if self.pinned else None

    @property
    def comment(self) -> str | None:
        if not self.pinned:
            return None
        return "# 32-true: the script clips gradients itself, which a mixed precision scales"


def find_clips(index: SourceIndex, roles: Roles, script_amp: bool) -> Clips:
    """The clips to hand to Fabric, or why Fabric stays in 32 bits. `script_amp`: the script
    has a mixed precision of its own, and its clips stay as they are."""
    clips = Clips()
    if script_amp:
        return clips
    for call in index.nodes(cst.Call):
        kind = "norm" if index.resolves_to(call.func, *_NORM) else None
        kind = kind or ("value" if index.resolves_to(call.func, *_VALUE) else None)
        if kind is None:
            continue
        clip = _exact(index, roles, call, kind)
        if clip is not None:
            clips.exact.append(clip)
        elif clips.pinned is None:
            clips.pinned = f"{_name(call)} of other than one optimizer's model.parameters()"
            clips.line = index.line(call)
    return clips


def rewrite(ctx: Context, clips: Clips) -> None:
    for clip in clips.exact:
        if not ctx.reach.has_fabric(clip.call):
            raise Declined(ctx.index.line(clip.call), ctx.reach.why_not(clip.call))
        arguments = [cst.Arg(clip.model), cst.Arg(clip.optimizer)]
        arguments += [
            cst.Arg(value, keyword=cst.Name(keyword), equal=_EQUAL)
            for keyword, value in clip.arguments
        ]
        ctx.edits.on(
            clip.call,
            lambda u, arguments=arguments: make_call(ctx.attribute("clip_gradients"), arguments),
        )
        ctx.use(clip.call, "clip")


_EQUAL = cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))


def _exact(index: SourceIndex, roles: Roles, call: cst.Call, kind: str) -> Clip | None:
    """`clip_grad_norm_(model.parameters(), ...)` where one optimizer trains exactly that, and
    the function that clips also steps it (so it names it)."""
    positional = [a for a in call.args if a.keyword is None]
    if any(a.star for a in call.args) or not positional:
        return None
    keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
    names = _SCRIPT_KEYWORDS[kind]
    values = dict(zip(names, [a.value for a in positional[1:]]))
    extra = len(positional) - 1 > len(names) or set(keywords) - set(names)
    if extra or set(values) & set(keywords):
        return None  # `foreach=`, or something Fabric's clip does not take
    values.update(keywords)
    parameters = positional[0].value
    if not m.matches(parameters, m.Call(func=m.Attribute(attr=m.Name("parameters")), args=[])):
        return None
    model = parameters.func.value
    name = _model_name(index, roles, model)
    if name is None:
        return None
    optimizers = [o for o in roles.optimizers if _trains_all_of(index, roles, o, name)]
    if len(optimizers) != 1:
        return None
    optimizer = _stepped_name(index, call, optimizers[0], roles)
    if optimizer is None:
        return None
    fabric_names = dict(zip(names, _KEYWORDS[kind]))
    arguments = [(fabric_names[name], values[name]) for name in names if name in values]
    if kind == "norm" and "error_if_nonfinite" not in values:
        arguments.append(("error_if_nonfinite", cst.Name("False")))  # torch's default
    return Clip(call, kind, model, optimizer, arguments)


def _model_name(index: SourceIndex, roles: Roles, node: cst.BaseExpression) -> str | None:
    """The model `node` names, as the setup scope names it (a model it creates, seen through
    the functions it is handed to, or one it receives)."""
    if not isinstance(node, cst.Name):
        return None
    scope = index.scope(node)
    if scope is not None and scope.lookup(node.value) is roles.scope:
        found = (roles.scope, node.value)
    else:
        found = resolve(index, node)
    if found is None or found[0] is not roles.scope or roles.model(found[1]) is None:
        return None
    return found[1]


def _trains_all_of(index: SourceIndex, roles: Roles, optimizer: str, model: str) -> bool:
    """Every binding of the optimizer is `Opt(model.parameters(), ...)`."""
    for statement in roles.optimizers[optimizer]:
        call = assigned_call(statement)
        first = call.args[0] if call is not None and call.args else None
        if first is None or first.keyword is not None or first.star:
            return False
        if not m.matches(
            first.value,
            m.Call(func=m.Attribute(value=m.Name(model), attr=m.Name("parameters")), args=[]),
        ):
            return False
    return True


def _stepped_name(index: SourceIndex, call: cst.Call, optimizer: str, roles: Roles):
    """The optimizer as the function around `call` names it: the receiver of its `.step()`
    there."""
    function = index.enclosing_function(call)
    for step in index.nodes(cst.Call):
        if not m.matches(step.func, m.Attribute(value=m.Name(), attr=m.Name("step"))):
            continue
        if index.enclosing_function(step) is not function:
            continue
        receiver = step.func.value
        if resolve(index, receiver) == (roles.scope, optimizer):
            return cst.Name(receiver.value)
    return None


def _name(call: cst.Call) -> str:
    func = call.func
    return func.attr.value if isinstance(func, cst.Attribute) else code(func)
