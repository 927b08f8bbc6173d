"""The statements a Fabric conversion adds: `fabric = Fabric(...)` and `fabric.launch()`, the
scaling flags of an argparse script, and the `fabric.setup...` calls after the models, optimizers
and loaders are created."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from converter.analysis.bindings import bindings
from converter.analysis.index import SourceIndex
from converter.analysis.walk import find
from converter.lightning_code.layout import kwarg, one_argument_per_line
from converter.lightning_code.options import (
    DEVICES,
    NUM_NODES,
    SCALING,
    flag_imports,
    scaling_flags,
)
from converter.targets.fabric.reach import Reach
from converter.targets.fabric.roles import Roles
from converter.templating import expr, fill

#: Fabric's options, in the order the call lists them.
OPTIONS = ("accelerator", "devices", "num_nodes", "precision", "strategy")
FLAGS = dict(SCALING, strategy="--strategy")


@dataclass(frozen=True)
class Names:
    """Names the conversion brings in, none of them one the script uses already."""

    fabric: str
    cls: str  # Fabric, or an alias where the script has a `Fabric` of its own
    rank_zero: str  # Fabric's rank_zero_only, which knows the process's rank without `fabric`

    @staticmethod
    def choose(index: SourceIndex) -> Names:
        return Names(
            index.fresh_name("fabric"),
            index.fresh_name("Fabric"),
            index.fresh_name("rank_zero_only"),
        )


@dataclass
class Options:
    values: dict[str, cst.BaseExpression]
    needs: list[cst.CSTNode]  # statements binding what the values read
    flags: list[cst.BaseStatement]  # `parser.add_argument(...)` before `parse_args()`
    imports: set[str]
    comment: str | None = None  # above `fabric = Fabric(...)`: why an option is what it is


def fabric_options(
    index: SourceIndex,
    roles: Roles,
    distributed: bool,
    precision: cst.BaseExpression | None,
    comment: str | None = None,
) -> Options:
    """Fabric's options: what the script decides itself (its device choice, DDP, its precision,
    pinned where it keeps its own mixed precision: see amp.py) as values, the rest as flags of
    an argparse script (a value present is no flag)."""
    values: dict[str, cst.BaseExpression] = {}
    needs: list[cst.CSTNode] = []
    imports: set[str] = set()
    device = _device_choice(index, roles)
    if device is not None:
        values["accelerator"] = expr(f"torch.device({device}).type")
        needs += bindings(index, roles.scope.lookup(device) or roles.scope, device)
        imports.add("torch")
    if distributed:  # as many processes as the launcher (torchrun, SLURM) started
        values["strategy"] = cst.SimpleString('"ddp"')
        values["devices"] = expr(DEVICES)
        values["num_nodes"] = expr(NUM_NODES)
        imports.add("os")
    if precision is not None:
        values["precision"] = precision
        needs += _bindings_read(index, roles, precision)
        if "torch." in cst.Module([]).code_for_node(precision):
            imports.add("torch")
    flags: list[cst.BaseStatement] = []
    binding = roles.namespace_binding
    if binding is not None:
        templates = ("trainer_flags", "fabric_strategy_flag")
        flags, arguments = scaling_flags(index, binding, roles.namespace, values, FLAGS, templates)
        imports |= flag_imports(flags)
        for argument in arguments:
            values[argument.keyword.value] = argument.value
        if arguments:
            needs.append(binding)
    ordered = {name: values[name] for name in OPTIONS if name in values}
    return Options(ordered, needs, flags, imports, comment)


def _device_choice(index: SourceIndex, roles: Roles) -> str | None:
    for name in roles.devices:
        if roles.scope.lookup(name) in (roles.scope, index.body_scope(None)):
            return name
    return None


def _bindings_read(index: SourceIndex, roles: Roles, value: cst.BaseExpression) -> list:
    found = []
    for name in {n.value for n in _names(value)}:
        owner = roles.scope.lookup(name)
        if owner is not None:
            found += bindings(index, owner, name)
    return found


def _names(node: cst.CSTNode) -> list[cst.Name]:
    return find(node, cst.Name)


def launch(names: Names, options: Options) -> list[cst.BaseStatement]:
    arguments = [kwarg(name, value) for name, value in options.values.items()]
    statements = fill(
        "fabric_launch",
        fabric=cst.Name(names.fabric),
        Fabric=cst.Name(names.cls),
        options=arguments,
    )
    if len(arguments) > 3 or len(cst.Module([]).code_for_node(statements[0])) > 88:
        statements[0] = one_argument_per_line(statements[0])
    if options.comment is not None:
        line = cst.EmptyLine(comment=cst.Comment(options.comment))
        statements[0] = statements[0].with_changes(leading_lines=[line])
    return statements


def setup_points(
    index: SourceIndex, roles: Roles, fabric: str
) -> tuple[list[tuple[cst.BaseStatement | None, list]], bool]:
    """(the statement each setup follows, the setup statements), None: right after the launch;
    and whether the models and optimizers are set up together.

    One `model, optimizer = fabric.setup(model, optimizer)` per model after the last of them is
    created, when each optimizer trains one model and all are created once, side by side;
    otherwise `fabric.setup_module` after each model and `fabric.setup_optimizers` after each
    optimizer is created (also inside a loop that creates it anew)."""
    created = [b for model in roles.models for b in model.bindings]
    created += [s for statements in roles.optimizers.values() for s in statements]
    together = (
        roles.combined
        and all(len(model.bindings) <= 1 for model in roles.models)
        and all(len(statements) == 1 for statements in roles.optimizers.values())
        and len({id(index.parent(s)) for s in created}) == 1
        and not any(_in_loop(index, s, roles) for s in created)
    )
    if together:
        last = max(created, key=index.order)
        return [
            (last, [_setup(fabric, model.name, model.optimizers) for model in roles.models])
        ], True
    points: list[tuple[cst.BaseStatement | None, list]] = []
    for model in roles.models:
        for binding in model.bindings or [None]:
            statement = fill(
                "fabric_setup_module", model=cst.Name(model.name), fabric=cst.Name(fabric)
            )[0]
            points.append((binding, [statement]))
    for name, statements in roles.optimizers.items():
        for binding in statements:
            setup = fill(
                "fabric_setup_optimizers", optimizer=cst.Name(name), fabric=cst.Name(fabric)
            )
            points.append((binding, setup))
    return points, False


def _setup(fabric: str, model: str, optimizers: list[str]) -> cst.BaseStatement:
    objects = [model, *optimizers]
    target = (
        cst.Name(model)
        if len(objects) == 1
        else cst.Tuple([cst.Element(cst.Name(n)) for n in objects], lpar=[], rpar=[])
    )
    arguments = [cst.Arg(cst.Name(n)) for n in objects]
    return fill("fabric_setup", objects=target, fabric=cst.Name(fabric), arguments=arguments)[0]


def loaders_setup(fabric: str, loaders: list[str], sharded: bool = True) -> cst.BaseStatement:
    target = (
        cst.Name(loaders[0])
        if len(loaders) == 1
        else cst.Tuple([cst.Element(cst.Name(n)) for n in loaders], lpar=[], rpar=[])
    )
    arguments = [cst.Arg(cst.Name(n)) for n in loaders]
    if not sharded:  # its batches moved, its data not shared out
        arguments.append(kwarg("use_distributed_sampler", cst.Name("False")))
    return fill(
        "fabric_setup_dataloaders", loaders=target, fabric=cst.Name(fabric), arguments=arguments
    )[0]


def _in_loop(index: SourceIndex, node: cst.CSTNode, roles: Roles) -> bool:
    for ancestor in index.ancestors(node):
        if ancestor is roles.function:
            return False
        if isinstance(ancestor, (cst.For, cst.While)):
            return True
    return False


def lift(index: SourceIndex, node: cst.CSTNode, block: cst.CSTNode) -> cst.CSTNode | None:
    """The statement of `block` that holds `node` (None if `block` does not)."""
    for candidate in (node, *index.ancestors(node)):
        if index.parent(candidate) is block:
            return candidate
    return None


def loader_anchor(
    index: SourceIndex, reach: Reach, loaders: list[str], setup_after: cst.BaseStatement | None
) -> tuple[list[str], cst.BaseStatement | None]:
    """The loaders that can be set up together, and the statement their setup follows (None:
    right after the launch): after the models' setup, or after the loaders are created if that
    comes later. A loader created in a block of its own (inside a loop) is left as it is."""
    block = index.parent(setup_after) if setup_after is not None else index.parent(reach.anchor)
    start = setup_after if setup_after is not None else reach.anchor
    last, kept = setup_after, []
    for name in loaders:
        statements = bindings(index, reach.roles.scope, name)
        lifted = [lift(index, s, block) for s in statements]
        if any(
            (found is None and index.order(s) > index.order(start)) or _in_a_loop(index, s, found)
            for found, s in zip(lifted, statements)
        ):
            continue
        kept.append(name)
        for found in lifted:
            if found is not None and (last is None or index.order(found) > index.order(last)):
                last = found
    if last is not None and index.order(last) < index.order(reach.anchor):
        last = None
    return kept, last


def _in_a_loop(index: SourceIndex, statement, lifted) -> bool:
    """`statement` is made anew in a loop inside `lifted` (a setup after the loop would come
    after the loop has iterated it)."""
    if lifted is None:
        return False
    for node in (statement, *index.ancestors(statement)):
        if isinstance(node, (cst.For, cst.While)):
            return True
        if node is lifted:
            return False
    return False
