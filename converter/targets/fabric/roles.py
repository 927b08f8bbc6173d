"""Who is who in a script that Fabric will run: the optimizers its loops step, the models they
train, where both are created (the scope Fabric is set up in), the device the script chose and its
argparse namespace. Read only; every decline of the Fabric conversion that concerns roles is here.

The loop itself is not analysed: Fabric keeps it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import (
    assigned_call,
    assigned_value,
    bindings,
    calls,
    calls_of,
    is_device_move_of,
    is_optimizer,
    parameters_root,
    returns_itself,
    scope_names,
    single_binding,
)
from converter.analysis.index import SourceIndex
from converter.analysis.loops import bind_arguments
from converter.analysis.scopes import ClassScope, Scope
from converter.analysis.site import Declined
from converter.analysis.torch_api import DDP, SCALERS, STEP_CALL
from converter.analysis.torch_api import is_device as is_device_value
from converter.analysis.walk import find


@dataclass
class Model:
    name: str
    #: `model = Net()` (one per branch of an `if` that chooses the model); none for a parameter
    #: of the setup scope
    bindings: list[cst.BaseStatement]
    optimizers: list[str] = field(default_factory=list)  # those that train it alone


@dataclass
class Roles:
    scope: Scope  # where the models and optimizers are created: Fabric is set up there
    function: cst.FunctionDef | None  # that scope's function (None: the module)
    models: list[Model]
    optimizers: dict[str, list[cst.BaseStatement]]  # name -> its bindings, in creation order
    trains: dict[str, list[str]]  # optimizer -> the models whose parameters it updates
    model_moves: list[cst.BaseStatement]  # `model.to(device)` / `model = DDP(model)`: dropped
    devices: list[str]  # variables holding the script's device choice
    namespace: str | None = None  # `args` of `args = parser.parse_args()`
    namespace_binding: cst.BaseStatement | None = None
    scalers: set[str] = field(default_factory=set)  # GradScaler variables

    def model(self, name: str) -> Model | None:
        return next((model for model in self.models if model.name == name), None)

    @property
    def combined(self) -> bool:
        """Every optimizer trains one model alone: `model, optimizer = fabric.setup(...)`."""
        return all(len(models) == 1 for models in self.trains.values()) and all(
            model.optimizers for model in self.models
        )


def find_roles(index: SourceIndex) -> Roles:
    scalers = _scalers(index)
    stepped: dict[tuple[Scope, str], cst.Call] = {}
    through: list[cst.Call] = []  # `x.step(optimizer)` through something else than a GradScaler
    for call in index.nodes(cst.Call):
        if not m.matches(call, STEP_CALL):
            continue
        receiver = call.func.value
        if _names_scaler(index, receiver) and call.args:
            receiver = call.args[0].value  # scaler.step(optimizer)
        found = resolve(index, receiver)
        if found is not None and _is_optimizer_name(index, *found):
            stepped.setdefault(found, call)
        elif len(call.args) == 1 and _is_optimizer(index, call.args[0].value):
            through.append(call)
    if not stepped:
        _why_not_stepped(index, through)
        _why_no_optimizer(index)
        _why_not_one(index)
        raise Declined(1, "no optimizer created by torch.optim is stepped", kind="file")
    scopes = {scope for scope, _ in stepped}
    if len(scopes) > 1:
        raise Declined(
            index.line(next(iter(stepped.values()))),
            "the optimizers are created in different functions",
        )
    scope = scopes.pop()
    if isinstance(scope, ClassScope):
        raise Declined(
            index.line(next(iter(stepped.values()))), "an optimizer bound in a class body"
        )
    function = scope.node if isinstance(scope.node, cst.FunctionDef) else None
    optimizers = {
        name: bindings(index, scope, name)
        for name in sorted((n for _, n in stepped), key=lambda n: _first_line(index, scope, n))
    }
    trains = {name: _trained(index, scope, statements) for name, statements in optimizers.items()}
    models, moves = _models(index, scope, optimizers, trains)
    roles = Roles(
        scope=scope,
        function=function,
        models=models,
        optimizers=optimizers,
        trains=trains,
        model_moves=moves,
        devices=_devices(index, scope),
        scalers=set(scalers),
    )
    _namespace(index, roles)
    return roles


def resolve(index: SourceIndex, expr: cst.BaseExpression) -> tuple | None:
    """(scope, name) of the variable `expr` denotes, seen through the parameters of the functions
    it is passed to (`train(model, optimizer)` -> the caller's `optimizer`) when every call
    passes the same variable; None for anything else."""
    found = resolve_all(index, expr)
    return found.pop() if found is not None and len(found) == 1 else None


def resolve_all(index: SourceIndex, expr: cst.BaseExpression, depth: int = 0) -> set | None:
    """Every (scope, name) `expr` may denote through the calls of the function it is a parameter
    of (`evaluate(model, val_loader)`, `evaluate(model, test_loader)`); None when some call passes
    anything but a variable."""
    if not isinstance(expr, cst.Name) or depth > 8:
        return None
    scope = index.scope(expr)
    owner = scope.lookup(expr.value) if scope is not None else None
    if owner is None:
        return None
    assignments = [a for a in owner.assignments[expr.value] if a.scope is owner]
    params = [a for a in assignments if isinstance(a.node, cst.Param)]
    if not params:
        return {(owner, expr.value)}
    function = owner.node
    if len(assignments) != 1 or not isinstance(function, cst.FunctionDef):
        return None
    found: set = set()
    calls = calls_of(index, function)
    for _statement, call in calls:
        try:
            argument = bind_arguments(index, function, call).get(expr.value)
        except Declined:
            return None
        targets = resolve_all(index, argument, depth + 1) if argument is not None else None
        if targets is None:
            return None
        found |= targets
    return found or None


def _why_not_one(index: SourceIndex) -> None:
    """An optimizer parameter that its calls bind to optimizers made in several places (a
    notebook's train() called for each experiment): say where."""
    for call in index.nodes(cst.Call):
        if not m.matches(call, STEP_CALL):
            continue
        found = resolve_all(index, call.func.value)
        if found is None or len(found) < 2:
            continue
        where = sorted(f"`{name}` of {_owner(scope)}" for scope, name in found)
        raise Declined(
            index.line(call),
            f"the optimizer stepped here is a parameter that its calls bind to {len(found)} "
            f"variables ({', '.join(where)}): Fabric sets each optimizer up where it is created",
        )


def _owner(scope) -> str:
    return f"{scope.node.name.value}()" if isinstance(scope.node, cst.FunctionDef) else "the script"


def _why_no_optimizer(index: SourceIndex) -> None:
    """A loop that steps its optimizer in a method (a trainer class), or in a function that
    receives it and that this file never calls: say so."""
    for call in index.nodes(cst.Call):
        if not m.matches(call, STEP_CALL):
            continue
        function = index.enclosing_function(call)
        if function is None:
            continue
        name = function.name.value
        if isinstance(index.parent(index.parent(function)), cst.ClassDef):
            raise Declined(
                index.line(call),
                f"{name}() is a method: Fabric needs the optimizer created and stepped in a "
                "function or the script itself",
            )
        receiver = call.func.value
        scope = index.scope(receiver)
        owner = scope.lookup(receiver.value) if isinstance(receiver, cst.Name) and scope else None
        params = (
            [a for a in owner.assignments[receiver.value] if isinstance(a.node, cst.Param)]
            if owner
            else []
        )
        if params and not calls_of(index, function):
            raise Declined(
                index.line(call),
                f"the optimizer is a parameter of {name}(), which this file never calls: Fabric "
                "is set up where the model and optimizer are created, in the script that calls it",
                kind="file",
            )


def _first_line(index: SourceIndex, scope: Scope, name: str) -> int:
    return min(index.order(s) for s in bindings(index, scope, name))


def _is_optimizer(index: SourceIndex, expr) -> bool:
    found = resolve(index, expr)
    return found is not None and _is_optimizer_name(index, *found)


def _is_optimizer_name(index: SourceIndex, scope: Scope, name: str) -> bool:
    found = bindings(index, scope, name)
    return bool(found) and all(
        (call := assigned_call(s)) is not None and is_optimizer(index, call) for s in found
    )


def _trained(index: SourceIndex, scope: Scope, statements) -> list[str]:
    """The models whose `.parameters()` the optimizer's creation reads, also through a variable
    (`params = list(encoder.parameters()) + list(decoder.parameters())`); none for an optimizer
    of plain tensors (`optim.SGD([w, b])`)."""
    roots: list[str] = []
    pending, seen = list(statements), set()
    while pending:
        statement = pending.pop(0)
        if statement in seen:
            continue
        seen.add(statement)
        for call in calls(statement):
            root = parameters_root(call)
            if root is not None and root not in roots:
                roots.append(root)
        for node in find(assigned_value(statement) or statement, cst.Name):
            if scope.lookup(node.value) is scope and node.value not in roots:
                found = bindings(index, scope, node.value)
                if len(found) == 1 and index.order(found[0]) < index.order(statement):
                    pending.append(found[0])
    return roots


def _models(index: SourceIndex, scope: Scope, optimizers, trains) -> tuple[list[Model], list]:
    names = list(dict.fromkeys(root for roots in trains.values() for root in roots))
    models, moves = [], []
    for name in names:
        trainer = next(o for o, roots in trains.items() if name in roots)
        line = index.line(optimizers[trainer][0])
        if scope.lookup(name) is not scope:
            raise Declined(line, f"`{name}` is not created in the same function as `{trainer}`")
        found = bindings(index, scope, name)
        wraps = [s for s in found if is_device_move_of(s, name) or _wraps(index, s, name)]
        # created before an optimizer over it is (a notebook's cells may make the model and its
        # optimizer anew); rebound after the last one (reloading the best model after
        # training): left be
        last = max(index.order(o) for o in optimizers[trainer])
        params = [a for a in scope.assignments[name] if isinstance(a.node, cst.Param)]
        signature = {index.enclosing_statement(a.node) for a in params}  # the function itself
        created = [
            s
            for s in found
            if s not in wraps
            and s not in signature
            and not returns_itself(s, name)
            and index.order(s) < last
        ]
        if params and created or not (params or created):
            raise Declined(line, f"`{name}` is not created once by an assignment")
        if params and not calls_of(index, scope.node):  # a module's function: its script's
            raise Declined(
                line,
                f"`{name}` is a parameter of {scope.node.name.value}(), which this file never "
                "calls: convert the script that calls it",
                kind="file",
            )
        for statement in created:
            if assigned_value(statement) is None:
                where = index.line(statement)
                raise Declined(where, f"`{name}` is not created by an assignment of its own")
            call = assigned_call(statement)
            if call is not None and index.resolves_to(call.func, *DDP, *_DATA_PARALLEL):
                raise Declined(
                    index.line(statement),
                    f"`{name}` is created as a {cst.Module([]).code_for_node(call.func)}(...) of "
                    "another module: Fabric's setup would wrap it twice",
                )
        own = [o for o, roots in trains.items() if roots == [name]]
        models.append(Model(name, created, own))
        moves += wraps + _conditional_moves(index, scope, name)
    return models, moves


def _conditional_moves(index: SourceIndex, scope: Scope, name: str) -> list:
    """`model.cuda()` as a statement of its own (also inside `if use_cuda:`)."""
    return [
        s
        for s in index.nodes(cst.SimpleStatementLine)
        if is_device_move_of(s, name)
        and not isinstance(s.body[0], cst.Assign)
        and index.scope(s) is scope
    ]


_DATA_PARALLEL = ("torch.nn.DataParallel", "torch.nn.parallel.DataParallel")


def _wraps(index: SourceIndex, statement, name: str) -> bool:
    """`model = DDP(model, ...)` / `nn.DataParallel(model)`: Fabric's setup and strategy do
    that themselves."""
    call = assigned_call(statement)
    return (
        call is not None
        and index.resolves_to(call.func, *DDP, *_DATA_PARALLEL)
        and bool(call.args)
        and m.matches(call.args[0].value, m.Name(name))
    )


def _scalers(index: SourceIndex) -> list[str]:
    found = []
    for scope in index.scopes():
        for name in scope_names(scope):
            call = assigned_call(single_binding(index, scope, name))
            if call is not None and index.resolves_to(call.func, *SCALERS):
                found.append(name)
    return found


def _names_scaler(index: SourceIndex, expr) -> bool:
    """`expr` is a GradScaler, one created once by an assignment, or a parameter every call
    passes one of those (`train(model, optimizer, scaler)`)."""
    found = resolve_all(index, expr)
    return bool(found) and all(
        (call := assigned_call(single_binding(index, *where))) is not None
        and index.resolves_to(call.func, *SCALERS)
        for where in found
    )


def _why_not_stepped(index: SourceIndex, through: list[cst.Call]) -> None:
    """`scaler.step(optimizer)` through a scaler that cannot be followed to its creation."""
    for call in through:
        receiver = cst.Module([]).code_for_node(call.func.value)
        raise Declined(
            index.line(call),
            f"`{receiver}.step(...)` steps the optimizer through `{receiver}`, which is not a "
            "GradScaler created once by an assignment (nor a parameter every call passes one)",
        )


def _devices(index: SourceIndex, scope: Scope) -> list[str]:
    found = []
    for where in dict.fromkeys([scope, index.body_scope(None)]):
        for name in scope_names(where):
            values = [assigned_value(s) for s in bindings(index, where, name)]
            if values and all(v is not None and is_device_value(index, v) for v in values):
                found.append(name)
    return found


def _namespace(index: SourceIndex, roles: Roles) -> None:
    for where in dict.fromkeys([index.body_scope(None), roles.scope]):
        for name in scope_names(where):
            statement = single_binding(index, where, name)
            call = assigned_call(statement)
            if call is not None and m.matches(
                call.func, m.Attribute(value=m.Name(), attr=m.Name("parse_args"))
            ):
                roles.namespace, roles.namespace_binding = name, statement
