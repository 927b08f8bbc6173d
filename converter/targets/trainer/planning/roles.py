"""Pass 2: who is who at the site. The optimizers the batch loop steps, the models they train,
the devices, the argparse namespace; then each pattern binds its own (schedulers, scalers,
samplers, ranks)."""

from __future__ import annotations

import builtins

import libcst as cst

from converter.analysis import match as m
from converter.analysis.bindings import (
    assigned_call,
    assigned_value,
    bindings,
    bound_names,
    calls,
    device_moves_at_site,
    is_device_move_of,
    is_optimizer,
    is_statement_of,
    parameters_root,
    reaching,
    returns_itself,
    scope_names,
    single_binding,
    strip_device_moves,
)
from converter.analysis.index import SourceIndex
from converter.analysis.models import ModelClass
from converter.analysis.site import Declined, ModelRef, Moved, Role, TrainingSite
from converter.analysis.torch_api import is_device
from converter.analysis.walk import find
from converter.targets.trainer.patterns import PATTERNS
from converter.targets.trainer.planning.find import step_calls

_LIGHTNING_METHODS = ("training_step", "configure_optimizers", "validation_step", "test_step")


def bind_roles(site: TrainingSite, index: SourceIndex, models: dict[str, ModelClass]) -> None:
    steps = step_calls(index, site)
    optimizers = _optimizers(site, index, steps)
    site.optimizer_vars = [name for name, _ in optimizers]
    step_body = site.step_function.function.body.body if site.step_function else []
    site.hand_steps = [
        call
        for call, origin in steps
        if (call.args and _stepped_by_pattern(site, index, call) is None)
        or not is_statement_of(
            index, call, step_body if origin is not None else site.batch_loop.body.body
        )
    ]
    site.models = _models(site, index, models, [statement for _, statement in optimizers])
    for model in site.models:
        site.bind(model.var, Role.MODEL)
    for name, statement in optimizers:
        site.bind(name, Role.OPTIMIZER)
        if statement not in site.removed:  # `opt_g, opt_d = Adam(...), Adam(...)`: once
            site.setup.append(Moved(statement, site.origin))
            site.removed.append(statement)
    _devices_and_arguments(site, index)
    for pattern in PATTERNS:
        pattern.bind(site, index)


def _stepped_by_pattern(site: TrainingSite, index: SourceIndex, call: cst.Call):
    return next(
        (
            stepped
            for pattern in PATTERNS
            if (stepped := pattern.stepped_optimizer(call, site, index)) is not None
        ),
        None,
    )


def _optimizers(
    site: TrainingSite, index: SourceIndex, steps
) -> list[tuple[str, cst.BaseStatement]]:
    """The optimizers the loop steps, in the order the site creates them."""
    found: dict[str, cst.BaseStatement] = {}
    rebound = []
    received = None  # the function the optimizer is a parameter of
    for call, origin in steps:
        receiver = _stepped_by_pattern(site, index, call) or call.func.value
        name = (origin or site.loop_origin).site_name(receiver)
        found_bindings = bindings(index, site.site_scope, name) if name else []
        statement = reaching(index, found_bindings, site.train_part) if found_bindings else None
        created = assigned_call(statement, name)
        if created is not None and is_optimizer(index, created):
            found[name] = statement
        elif name and statement is None and _optimizers_only(index, site, name):
            rebound.append(name)
        elif isinstance(statement, cst.FunctionDef):
            received = statement
    if not found and rebound:
        lines = [index.line(s) for s in bindings(index, site.site_scope, rebound[0])]
        raise Declined(
            index.line(site.batch_loop),
            f"`{rebound[0]}` is bound more than once (lines {', '.join(map(str, lines))}), not "
            "one after the other before the loop: the Trainer creates the optimizer once, in "
            "configure_optimizers",
        )
    if not found:
        raise Declined(
            index.line(site.batch_loop),
            "the batch loop steps no optimizer created by torch.optim"
            + (f" in {received.name.value}(), which receives it" if received else ""),
            inline=received,
        )
    return sorted(found.items(), key=lambda item: index.line(item[1]))


def _optimizers_only(index: SourceIndex, site: TrainingSite, name: str) -> bool:
    """`name` is bound several times, each time to a new torch.optim optimizer."""
    found = bindings(index, site.site_scope, name)
    return len(found) > 1 and all(
        (call := assigned_call(s, name)) is not None and is_optimizer(index, call) for s in found
    )


def _models(site, index, models, optimizer_statements) -> list[ModelRef]:
    """What the optimizers train: the roots of their `x.parameters()` arguments, also through a
    list made before (`params = [p for p in net.parameters() if p.requires_grad]`), which then
    moves into configure_optimizers with them."""
    roots: list[str] = []
    for statement in optimizer_statements:
        for source in [*_parameter_lists(site, index, statement), statement]:
            for call in calls(source):
                root = parameters_root(call)
                if root is not None and root not in roots:
                    roots.append(root)
    if not roots:
        roots = _models_handed_to_group_builders(site, index, optimizer_statements)
    if not roots:
        raise Declined(
            index.line(optimizer_statements[0]), "cannot tell which model the optimizer trains"
        )
    found = [_model(site, index, models, var, optimizer_statements[0]) for var in roots]
    if len(found) == 1:
        if found[0].cls is None:
            found[0].attribute = "self.model"
        return found
    for model in found:  # several models: one generated module holds them all
        model.cls, model.attribute = None, f"self.{model.var}"
    return found


def _parameter_lists(site, index: SourceIndex, statement) -> list[cst.BaseStatement]:
    """Site statements binding the names an optimizer's arguments read, when they hold
    `x.parameters()`: they go into configure_optimizers before it (and stay at the site)."""
    call = assigned_call(statement, bound_names(statement)[0]) if bound_names(statement) else None
    found = []
    for arg in call.args if call is not None else []:
        for name in find(arg.value, cst.Name):
            binding = single_binding(index, site.site_scope, name.value)
            value = assigned_value(binding, name.value)  # `params = ...` alone, nothing else
            if value is None or binding is statement or binding in found:
                continue
            if any(parameters_root(c) for c in calls(value)):
                found.append(binding)
    for binding in found:
        site.setup.append(Moved(binding, site.origin))
    return found


def _models_handed_to_group_builders(site, index: SourceIndex, optimizer_statements) -> list[str]:
    """`pg = get_params_groups(model, weight_decay=wd)` then `AdamW(pg, ...)`: a function of
    the script's (or its modules') that builds the parameter groups from the model. The model
    is the argument the batch loop calls (`model(images)`); the binding moves into
    configure_optimizers (the builder may print: it runs once, there)."""
    called = {
        site.loop_origin.site_name(call.func)
        for call in find(site.batch_loop, cst.Call)
        if isinstance(call.func, cst.Name)
    }
    roots: list[str] = []
    for statement in optimizer_statements:
        created = assigned_call(statement, bound_names(statement)[0])
        for arg in created.args if created is not None else []:
            if not isinstance(arg.value, cst.Name):
                continue
            binding = single_binding(index, site.site_scope, arg.value.value)
            builder = assigned_call(binding, arg.value.value)
            if builder is None or not isinstance(builder.func, cst.Name):
                continue
            handed = [
                a.value.value
                for a in builder.args
                if isinstance(a.value, cst.Name) and a.value.value in called
            ]
            if len(handed) == 1 and handed[0] not in roots:
                roots.append(handed[0])
                site.setup.append(Moved(binding, site.origin))
                site.removed.append(binding)  # it runs once, in configure_optimizers
    return roots


def _model(site, index: SourceIndex, models, var: str, optimizer_statement) -> ModelRef:
    # A model built again after training (for inference, from a saved state) is another
    # object: only what creates the one the loop trains counts.
    before = index.line(site.train_part)
    created = [
        s
        for s in bindings(index, site.site_scope, var)
        if not is_device_move_of(s, var)
        and not returns_itself(s, var)
        and not _wraps_model(index, s, var)
        and index.line(s) < before
    ]
    if not created:
        raise Declined(
            index.line(optimizer_statement),
            f"`{var}` is not created before training in this scope, only moved or wrapped "
            "(`.to(device)`, `torch.compile`, `DataParallel`): cannot tell which model the "
            "optimizer trains",
        )
    trained = reaching(index, created, optimizer_statement)
    if trained is None:
        lines = ", ".join(str(index.line(s)) for s in created)
        raise Declined(
            index.line(optimizer_statement),
            f"`{var}` is created more than once before training (lines {lines}), not one "
            "after the other: cannot tell which model the optimizer trains",
        )
    if isinstance(trained, cst.FunctionDef):
        raise Declined(
            index.line(trained),
            f"`{var}` is a parameter of {trained.name.value}(), not created where it trains: "
            "the Trainer needs the model built where its optimizer is",
            inline=trained,
        )
    made = assigned_call(trained, var) or _unpacked_call(trained, var)
    if made is None:
        raise Declined(index.line(trained), f"`{var}` is not created by a call here")
    call = strip_device_moves(made)
    cls = None
    if _handed_to_other_code(site, index, var, trained):
        pass  # the wrapper shape: `model` stays the plain nn.Module that code was given
    elif isinstance(call.func, cst.Name) and call.func.value in models:
        cls = models[call.func.value]
        for method in _LIGHTNING_METHODS:
            if any(c.method(method) for c in cls.lineage()):
                raise Declined(index.line(cls.node), f"{cls.name} already defines {method}")
    return ModelRef(var=var, binding=trained, call=call, cls=cls)


def _unpacked_call(statement, var: str) -> cst.Call | None:
    """The factory call in `model, transforms = create_model()`: the model is one of what it
    returns (a LightningModule then wraps it)."""
    names = m.Tuple(elements=[m.ZeroOrMore(m.Element(m.Name()))])
    shape = m.SimpleStatementLine(body=[m.Assign(targets=[m.AssignTarget(names)], value=m.Call())])
    if not m.matches(statement, shape):
        return None
    assign = statement.body[0]
    bound = [e.value.value for e in assign.targets[0].target.elements]
    return assign.value if var in bound else None


def _handed_to_other_code(site, index: SourceIndex, var: str, created) -> bool:
    """`writer.add_graph(model, x)`, `summary(model, ...)` between the model's creation and
    training: code that inspects or traces an nn.Module there. A LightningModule not yet
    attached to a Trainer raises when such code reads `.trainer` (`torch.jit.trace` does), so
    the model's class stays as it is and a LightningModule wraps it. Builtins (`print(model)`)
    and the wrappers the patterns take apart (`DataParallel(model)`) are no such code."""
    start, before = index.line(created), index.line(site.train_part)
    for access in site.site_scope.accesses[var]:
        arg = index.parent(access.node)
        call = index.parent(arg) if isinstance(arg, cst.Arg) else None
        if not isinstance(call, cst.Call) or not start < index.line(call) < before:
            continue
        if isinstance(call.func, cst.Name) and call.func.value in _BUILTINS:
            continue
        if not any(p.wraps_model(call, index) for p in PATTERNS):
            return True
    return False


_BUILTINS = frozenset(dir(builtins))


def _wraps_model(index: SourceIndex, statement, var: str) -> bool:
    call = assigned_call(statement, var)
    return call is not None and any(p.wraps_model(call, index) for p in PATTERNS)


def _devices_and_arguments(site: TrainingSite, index: SourceIndex) -> None:
    module_scope = index.body_scope(None)
    for scope in {site.site_scope, module_scope}:
        for name in scope_names(scope):
            values = [assigned_value(s, name) for s in bindings(index, scope, name)]
            if values and all(v is not None and is_device(index, v) for v in values):
                site.bind(name, Role.DEVICE, "self.device")
    for scope in (module_scope, site.site_scope):
        for name in scope_names(scope):
            statement = single_binding(index, scope, name)
            call = assigned_call(statement)
            if call is not None and m.matches(
                call.func, m.Attribute(value=m.Name(), attr=m.Name("parse_args"))
            ):
                for previous in site.names(Role.NAMESPACE):
                    del site.bindings[previous]
                site.bind(name, Role.NAMESPACE, "self.hparams")
                site.namespace_binding = statement
    before = index.line(site.train_part)
    for model in site.models:  # moves after training (of a model rebuilt for inference) stay
        moves = device_moves_at_site(index, site.site_scope, model.var)
        site.removed += [move for move in moves if index.line(move) < before]
