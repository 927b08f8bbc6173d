"""`convert --datamodule`: the datasets, transforms and loaders that a conversion's `fit` (and
`test`) read become a LightningDataModule, as the Lightning docs write one: its settings are
constructor arguments recorded by `save_hyperparameters()`, `setup(stage)` builds the datasets,
and `train_dataloader`/`val_dataloader`/`test_dataloader` return the loaders. The script creates
it where it built its loaders and passes `datamodule=` to `fit` and `test`.

It runs on the Trainer conversion's output, after every pattern: the data code is the
script's own there, and only the call of `fit` knows which loaders train and which evaluate.

Why this is the same program. Lightning calls `setup` and the loader hooks inside
`trainer.fit(...)`, so the data statements run later than in the script: after everything between
them and `fit`, typically the model's creation, which draws its initial weights from torch's
random generator. They move only where that cannot show:

- they draw nothing from a global random generator (torch's, numpy's, Python's): a
  `random_split` without its own `generator=` would split differently after the model's draws;
- they print nothing and write no file (their output would come after the model's);
- nothing but `fit`/`test` reads what they bind, and nothing between them and `fit` rebinds what
  they read (the DataModule is created where the last of them was, with those values).

Elsewhere the loaders stay in the script, and the report says why. A `DataLoader` itself draws
only when iterated, inside `fit`, as before: building it in its hook changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from converter.analysis import match as m
from converter.analysis.argparse_options import is_parse_args, parser_defaults
from converter.analysis.bindings import assigned_value, code, functions_called
from converter.analysis.file_writes import writing_statements
from converter.analysis.index import SourceIndex
from converter.analysis.names import READ, WRITE, name_events, read_before_written
from converter.analysis.randomness import global_random_calls
from converter.analysis.values import is_plain
from converter.analysis.walk import find
from converter.lightning_code.layout import one_argument_per_line
from converter.report import Report
from converter.templating import expr, fill

TRAINERS = ("pytorch_lightning.Trainer", "lightning.Trainer", "lightning.pytorch.Trainer")
# what each `fit`/`test` keyword gives, and the hook that gives it from a DataModule
HOOKS = {
    "train_dataloaders": "train_dataloader",
    "val_dataloaders": "val_dataloader",
    "dataloaders": "test_dataloader",
}
# attributes LightningDataModule has: a setting or a dataset must not take their names
TAKEN = frozenset(
    """trainer hparams hparams_initial name prepare_data_per_node setup teardown prepare_data
    train_dataloader val_dataloader test_dataloader predict_dataloader state_dict load_state_dict
    save_hyperparameters load_from_checkpoint from_datasets on_exception transfer_batch_to_device
    on_before_batch_transfer on_after_batch_transfer stage
    allow_zero_length_dataloader_with_multiple_devices""".split()
)
# `trainer.predict` goes over the data the module's `predict_step` was made for: the evaluation's
_EVALUATION = ("val_dataloader", "test_dataloader")
_MUTATING = frozenset(
    "append extend insert remove pop popitem clear update setdefault add discard sort".split()
)
_MUTABLE = (cst.Dict, cst.List, cst.Set, cst.DictComp, cst.ListComp, cst.SetComp)
_LOADERS = ("torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader")
_LOADER_SETTINGS = ("batch_size", "num_workers")
_DRAWING_MODULES = ("numpy.random.", "random.")  # other global generators than torch's
_SPLITS = ("torch.utils.data.random_split", "torch.utils.data.dataset.random_split")


class Kept(Exception):
    """The loaders stay in the script: why, and the line (of the converted script's input)."""

    def __init__(self, line: int, why: str, node: cst.CSTNode | None = None) -> None:
        super().__init__(why)
        self.line = line
        self.node = node  # where, when `line` is 0: a node of the converted script


@dataclass
class Setting:
    name: str
    default: cst.BaseExpression
    value: cst.BaseExpression | None  # what the script passes (None: the default)
    saved: bool  # a hyper-parameter (plain data), else an attribute
    literals: tuple[cst.CSTNode, ...] = ()  # written in the data code: read from hparams


@dataclass
class DataPlan:
    alias: str  # the Lightning package's name in the script (`pl`)
    fit: cst.Call
    tests: list[cst.Call]
    data: list[cst.BaseStatement]  # what moves, in order
    loaders: dict[str, str]  # hook -> loader variable
    built_in_hook: dict[str, cst.BaseExpression]  # loader variable -> its value
    settings: list[Setting] = field(default_factory=list)
    namespace: str | None = None
    shared: set[str] = field(default_factory=set)  # bound in setup, read by a hook: `self.x`
    class_name: str = "DataModule"
    variable: str = "datamodule"


def add_datamodule(source: SourceIndex, converted: cst.Module, report: Report) -> cst.Module:
    """`converted` with its loaders' code in a LightningDataModule, or as it is (and why, in
    `report`). `source` indexes the script converted: report lines are its lines."""
    index = SourceIndex(converted)
    try:
        plan = plan_datamodule(index, source)
    except Kept as kept:
        line = kept.line or _line_near(source, index, kept.node or _fits(index)[0])
        report.find("datamodule", line, f"the loaders stay in the script: {kept}")
        return converted
    if plan is None:
        return converted
    line = next((source.line(s) for s in plan.data if source.line(s)), 1)
    hooks = ", ".join(plan.loaders)
    settings = ", ".join(s.name for s in plan.settings) or "no settings"
    report.change(
        "datamodule",
        line,
        f"the data code is now {plan.class_name} (setup, {hooks}), created with {settings}",
    )
    return _apply(index, plan)


# -- planning (reads only) -------------------------------------------------------------------


def plan_datamodule(index: SourceIndex, source: SourceIndex) -> DataPlan | None:
    fits = _fits(index)
    if not fits:
        return None
    if len(fits) > 1:
        raise Kept(0, "the script trains more than once; --datamodule takes one `fit`", fits[1])
    (fit,) = fits
    statement = index.enclosing_statement(fit)
    block = index.parent(statement)
    body = list(block.body)
    loaders = _loaders(fit, "train_dataloaders", "val_dataloaders")
    tests = [
        c
        for c in index.nodes(cst.Call)
        if _trainer_call(index, c, "test")
        and index.enclosing_statement(c) in body
        and c.func.value.value == fit.func.value.value
    ]
    for test in tests:
        loaders.update(_loaders(test, "dataloaders"))
    scope = index.scope(statement)
    end = body.index(statement)
    given = {id(a.value) for call in [fit, *tests] for a in call.args[1:] if a.keyword is not None}
    data = _data_statements(index, scope, body[:end], set(loaders.values()), given)
    line = _liner(source, index, body[:end])
    plan = DataPlan(
        alias=_alias(index, fit),
        fit=fit,
        tests=tests,
        data=data,
        loaders=loaders,
        built_in_hook={},
    )
    _check_reads(index, scope, data, given, line)
    _check_effects(index, data, line)
    _settings(index, scope, plan, body, end, line)
    _hooks(index, plan)
    _loader_settings(index, plan)
    plan.class_name = index.fresh_name(_class_name(index, data))
    plan.variable = index.fresh_name("datamodule")
    return plan


def _fits(index: SourceIndex) -> list[cst.Call]:
    return [c for c in index.nodes(cst.Call) if _trainer_call(index, c, "fit")]


def _line_near(source: SourceIndex, index: SourceIndex, node: cst.CSTNode) -> int:
    """The line, in the script converted, of the closest statement at or before `node` that
    the conversion kept (a generated `trainer.fit(...)` has none of its own)."""
    statement = node if isinstance(node, cst.BaseStatement) else index.enclosing_statement(node)
    while statement is not None:
        if source.line(statement):
            return source.line(statement)
        parent = index.parent(statement)
        body = list(getattr(parent, "body", []))
        earlier = body[: body.index(statement)] if statement in body else []
        known = [source.line(s) for s in earlier if source.line(s)]
        if known:
            return known[-1]
        statement = index.enclosing_statement(parent) if parent is not None else None
    return 1


def _trainer_call(index: SourceIndex, call: cst.Call, method: str) -> bool:
    """`trainer.<method>(...)` where `trainer` is bound to a Lightning Trainer."""
    if not m.matches(call.func, m.Attribute(value=m.Name(), attr=m.Name(method))):
        return False
    scope = index.scope(call)
    owner = scope.lookup(call.func.value.value) if scope is not None else None
    if owner is None:
        return False
    for assignment in owner.assignments[call.func.value.value]:
        value = assigned_value(index.enclosing_statement(assignment.node), call.func.value.value)
        if isinstance(value, cst.Call) and index.resolves_to(value.func, *TRAINERS):
            return True
    return False


def _alias(index: SourceIndex, fit: cst.Call) -> str:
    scope = index.scope(fit)
    owner = scope.lookup(fit.func.value.value)
    for assignment in owner.assignments[fit.func.value.value]:
        value = assigned_value(index.enclosing_statement(assignment.node), fit.func.value.value)
        if isinstance(value, cst.Call):
            return code(value.func).rpartition(".")[0]
    raise AssertionError("checked by _trainer_call")


def _loaders(call: cst.Call, *keywords: str) -> dict[str, str]:
    found = {}
    for arg in call.args[1:]:
        name = arg.keyword.value if arg.keyword is not None else None
        if name not in keywords:
            continue
        if not isinstance(arg.value, cst.Name):
            raise Kept(0, f"`{name}` is given `{code(arg.value)}`, not a variable")
        found[HOOKS[name]] = arg.value.value
    if "train_dataloader" not in found and "train_dataloaders" in keywords:
        raise Kept(0, "`fit` is given no training loader")
    return found


def _data_statements(
    index: SourceIndex, scope, before: list[cst.BaseStatement], loaders: set[str], given
) -> list[cst.BaseStatement]:
    """The statements before `fit` that build the loaders: those binding what the loaders read,
    and those that use what they bind (`kwargs.update(cuda_kwargs)`), to a fixed point. A value
    that other code reads too (`device`) is not theirs: it becomes a setting."""
    shared: set[str] = set()
    while True:
        taken = _closure(index, before, loaders, shared)
        bound = {e.node.value for e in name_events(index, taken) if e.kind == WRITE}
        read_elsewhere = {
            n for n in bound - shared if _reads_outside(index, scope, n, taken, given)
        }
        if not read_elsewhere - loaders:
            break
        shared |= read_elsewhere - loaders
    if not taken:
        _nothing_movable(index, before, loaders)
    return taken


def _nothing_movable(index: SourceIndex, before, loaders: set[str]):
    """Why no data code can move: the loaders' bindings draw random numbers, or are elsewhere."""
    for statement in before:
        drawn = _draws(index, [statement]) if _written(index, statement) & loaders else []
        if drawn:
            raise Kept(
                0,
                f"the statement that builds the loader also draws random numbers "
                f"(`{code(drawn[0].func)}`); it stays where it draws, before the model is created",
                statement,
            )
    raise Kept(
        0,
        "no statement before `fit` in its block builds its loaders (they are built in another "
        "block, a branch or a function)",
        next((s for s in before if _written(index, s) & loaders), None),
    )


def _closure(index: SourceIndex, before, loaders: set[str], shared: set[str]) -> list:
    movable = [s for s in before if _movable(index, s)]
    taken: set[cst.BaseStatement] = set()
    changed = True
    while changed:
        changed = False
        wanted = set(loaders)
        for statement in reversed(movable):  # what is read, back to its bindings
            written = _written(index, statement)
            if statement not in taken and written & wanted and not written & shared:
                taken.add(statement)
                changed = True
            if statement in taken:
                wanted |= _reads(index, statement)
        bound = {e.node.value for e in name_events(index, list(taken)) if e.kind == WRITE}
        for statement in movable:  # what uses what they bind, changing nothing else
            if statement not in taken and _reads(index, statement) & bound:
                others = set(_changed(index, [statement])) - bound
                if not _written(index, statement) & shared and not others:
                    taken.add(statement)
                    changed = True
    return [s for s in before if s in taken]


def _movable(index: SourceIndex, statement: cst.BaseStatement) -> bool:
    """Data code may move into the DataModule: not an import, a def or a class (the script's
    own), not a setting (`batch_size = 64`: a constructor argument with that default), and
    nothing that draws from a global random generator (it stays where it draws, before the
    model's creation, and what it makes is given to the DataModule)."""
    if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
        return False
    if m.matches(statement, m.SimpleStatementLine(body=[m.Import() | m.ImportFrom()])):
        return False
    if _simple_assignment(statement):
        value = statement.body[0].value
        if is_plain(index, index.scope(statement), value, set()) and not find(value, cst.Name):
            return False
    return not _draws(index, [statement])


def _draws(index: SourceIndex, statements) -> list[cst.Call]:
    """The calls of `statements` (and of the script's functions and classes they call) that
    draw from a global random generator (torch's, numpy's, Python's) or reseed one."""
    called = [f.body for f in functions_called(index, statements)]
    nodes = [*statements, *called, *_own_classes_built(index, statements)]
    drawn = global_random_calls(index, nodes)
    for node in nodes:
        for call in find(node, cst.Call):
            names = index.qualified_names(call.func)
            if any(n.startswith(_DRAWING_MODULES) for n in names) or (
                index.resolves_to(call.func, *_SPLITS)
                and not any(a.keyword and a.keyword.value == "generator" for a in call.args)
            ):
                drawn.append(call)
    return drawn


def _reads_outside(index: SourceIndex, scope, name: str, data, given) -> cst.Name | None:
    """A read of the block's `name` by code other than `data` and the loaders given (the first)."""
    for every in index.scopes():
        if every.lookup(name) is not scope:
            continue
        for access in every.accesses[name]:
            node = access.node
            if id(node) in given:
                continue
            statement = index.enclosing_statement(node)
            if any(d is statement or d in index.ancestors(statement) for d in data):
                continue
            return node
    return None


def _reads(index: SourceIndex, statement: cst.CSTNode) -> set[str]:
    return {e.node.value for e in name_events(index, [statement]) if e.kind == READ}


def _liner(source: SourceIndex, index: SourceIndex, statements):
    """The line of a node in the script converted (its statement's, else the first data's)."""

    def line(node: cst.CSTNode) -> int:
        found = source.line(node)
        if not found:
            statement = index.enclosing_statement(node)
            found = source.line(statement) if statement is not None else 0
        return found or next((source.line(s) for s in statements if source.line(s)), 0)

    return line


def _check_reads(index: SourceIndex, scope, data, given, line) -> None:
    """Only `fit`/`test` read what the data code binds."""
    for name in sorted({e.node.value for e in name_events(index, data) if e.kind == WRITE}):
        node = _reads_outside(index, scope, name, data, given)
        if node is not None:
            raise Kept(
                line(node),
                f"`{name}`, which the data code binds, is also read on line {line(node)}; a "
                "DataModule builds it only inside `fit`",
            )


def _check_effects(index: SourceIndex, data, line) -> None:
    """The data code runs inside `fit` now: it must not print or write files."""
    called = [f.body for f in functions_called(index, data)]
    for node in [*data, *called, *_own_classes_built(index, data)]:
        for call in find(node, cst.Call):
            if index.resolves_to(call.func, "builtins.print"):
                raise Kept(
                    line(call),
                    f"the data code prints (line {line(call)}); in a DataModule it would print "
                    "inside `fit`, after what the script prints in between",
                )
        writes = writing_statements(index, node)
        if writes:
            raise Kept(line(writes[0]), f"the data code writes a file (line {line(writes[0])})")


def _own_classes_built(index: SourceIndex, data) -> list[cst.CSTNode]:
    """The bodies of the script's classes the data code creates (a Dataset's `__init__`)."""
    classes = {s.name.value: s for s in index.module.body if isinstance(s, cst.ClassDef)}
    called = {c.func.value for d in data for c in find(d, cst.Call) if isinstance(c.func, cst.Name)}
    return [classes[n].body for n in sorted(called & set(classes))]


def _settings(index: SourceIndex, scope, plan: DataPlan, body, end: int, line) -> None:
    """The values the data code reads from the script become constructor arguments."""
    data = plan.data
    free = read_before_written(index, data)
    last = body.index(data[-1])
    for name in sorted(free, key=lambda n: _first_read(index, data, n)):
        reader = next(s for s in data if name in _reads(index, s))
        between = [s for s in body[body.index(reader) : last] if s not in data]
        if name in {e.node.value for e in name_events(index, between) if e.kind == WRITE}:
            raise Kept(
                line(reader),
                f"`{name}` changes between the data code that reads it (line {line(reader)}) "
                "and the end of the data code, where the DataModule is created",
            )
    for name in sorted(free, key=lambda n: _first_read(index, data, n)):
        if scope.lookup(name) is not scope or not _variable(scope, name):
            continue  # an import, a function or class of the script, a builtin
        changed = _changes(index, data, name)
        if changed is not None:
            raise Kept(
                line(changed),
                f"the data code changes `{name}` (line {line(changed)}), which the script "
                "made and may read elsewhere; inside `fit` the change would come later",
            )
        binding = _single_binding(index, scope, name)
        if is_parse_args(binding):
            plan.namespace = name
            _options(index, scope, plan, binding, line)
            continue
        value = assigned_value(binding, name) if binding is not None else None
        plain = (
            value is not None and is_plain(index, scope, value, set()) and not find(value, cst.Name)
        )
        default = value if plain and not find(value, _MUTABLE) else cst.Name("None")
        plan.settings.append(Setting(name, default, cst.Name(name), saved=plain))
    names = [s.name for s in plan.settings]
    for name in names:
        if name in TAKEN or names.count(name) > 1:
            raise Kept(
                line(data[0]),
                f"the setting `{name}` would clash with a name the DataModule has already",
            )


def _changes(index: SourceIndex, data, name: str) -> cst.CSTNode | None:
    return _changed(index, data).get(name)


def _changed(index: SourceIndex, statements) -> dict[str, cst.CSTNode]:
    """The variables whose objects `statements` change in place, and where: an item or
    attribute assigned or deleted (`vocab[w] = i`), or a method called for its effect alone
    (`vocab.update(...)`, `items.append(...)`) or one that changes a dict, list or set
    (`vocab.setdefault(w, len(vocab))`). Another method may change its object too, unseen
    here: verify compares what the script leaves behind."""
    found: dict[str, cst.CSTNode] = {}
    for event in name_events(index, statements):
        if event.kind != READ or event.node.value in found:
            continue
        node, parent = event.node, index.parent(event.node)
        while isinstance(parent, (cst.Attribute, cst.Subscript)) and parent.value is node:
            node, parent = parent, index.parent(parent)
            if isinstance(parent, (cst.AssignTarget, cst.Del)) or (
                isinstance(parent, cst.AugAssign) and parent.target is node
            ):
                found[event.node.value] = node
                break
            if isinstance(parent, cst.Call) and (
                isinstance(index.parent(parent), cst.Expr)
                or (isinstance(node, cst.Attribute) and node.attr.value in _MUTATING)
            ):
                found[event.node.value] = parent
                break
    return found


def _first_read(index: SourceIndex, data, name: str) -> int:
    events = [e for e in name_events(index, data) if e.node.value == name]
    return index.order(events[0].node) if events else 0


_NOT_VARIABLES = (cst.Import, cst.ImportFrom, cst.ImportAlias, cst.FunctionDef, cst.ClassDef)


def _variable(scope, name: str) -> bool:
    """Bound by assignments (not an import, def or class)."""
    return all(
        not isinstance(
            a.node, (cst.Import, cst.ImportFrom, cst.ImportAlias, cst.FunctionDef, cst.ClassDef)
        )
        for a in scope.assignments[name]
    )


def _single_binding(index: SourceIndex, scope, name: str) -> cst.BaseStatement | None:
    assignments = scope.assignments[name]
    if len(assignments) != 1:
        return None
    return index.enclosing_statement(assignments[0].node)


def _options(index: SourceIndex, scope, plan: DataPlan, binding, line) -> None:
    """`args.batch_size` -> a setting `batch_size`, its default the option's."""
    defaults = parser_defaults(index, binding, scope)
    for event in name_events(index, plan.data):
        if event.node.value != plan.namespace:
            continue
        parent = index.parent(event.node)
        if not m.matches(parent, m.Attribute(value=m.Name(plan.namespace))):
            raise Kept(
                line(event.node),
                f"the data code uses the whole argparse namespace `{plan.namespace}`; only "
                "its options can be the DataModule's settings",
            )
        option = parent.attr.value
        if option in (s.name for s in plan.settings):
            continue
        plan.settings.append(
            Setting(option, defaults.get(option, cst.Name("None")), parent, saved=True)
        )


def _hooks(index: SourceIndex, plan: DataPlan) -> None:
    """A loader bound once by `name = <value>`, read by nothing else of the data code, is built
    in its hook; any other is built in `setup` and the hook returns it."""
    for name in set(plan.loaders.values()):
        bindings = [s for s in plan.data if name in _written(index, s)]
        value = assigned_value(bindings[0], name) if len(bindings) == 1 else None
        others = [s for s in plan.data if s is not bindings[0] and name in _reads(index, s)]
        if value is not None and not others and _simple_assignment(bindings[0]):
            plan.built_in_hook[name] = value
    setup = [s for s in plan.data if not _builds_a_hooked_loader(index, plan, s)]
    bound_in_setup = {e.node.value for e in name_events(index, setup) if e.kind == WRITE}
    read_by_hooks = {
        e.node.value
        for value in plan.built_in_hook.values()
        for e in name_events(index, [value])
        if e.kind == READ
    }
    loaders_in_setup = set(plan.loaders.values()) - set(plan.built_in_hook)
    plan.shared = (bound_in_setup & read_by_hooks) | loaders_in_setup
    for name in plan.shared:
        if name in TAKEN or name in (s.name for s in plan.settings):
            raise Kept(0, f"`{name}` would clash with a name the DataModule has already")


def _loader_settings(index: SourceIndex, plan: DataPlan) -> None:
    """A `DataLoader`'s literal `batch_size=`/`num_workers=`, the same in every loader, is a
    setting too (`DataModule(batch_size=...)`), as the Lightning docs' DataModules have it."""
    found: dict[str, list[cst.BaseExpression]] = {}
    for node in plan.data:
        for call in find(node, cst.Call):
            if not index.resolves_to(call.func, *_LOADERS):
                continue
            for arg in call.args:
                keyword = arg.keyword.value if arg.keyword is not None else None
                if keyword in _LOADER_SETTINGS and isinstance(arg.value, cst.Integer):
                    found.setdefault(keyword, []).append(arg.value)
    taken = {s.name for s in plan.settings} | plan.shared
    for keyword, literals in found.items():
        if len({v.value for v in literals}) == 1 and keyword not in taken:
            setting = Setting(keyword, literals[0], None, saved=True, literals=tuple(literals))
            plan.settings.append(setting)


def _written(index: SourceIndex, statement) -> set[str]:
    return {e.node.value for e in name_events(index, [statement]) if e.kind == WRITE}


def _simple_assignment(statement) -> bool:
    return m.matches(
        statement, m.SimpleStatementLine(body=[m.Assign(targets=[m.AssignTarget(m.Name())])])
    )


def _builds_a_hooked_loader(index: SourceIndex, plan: DataPlan, statement) -> bool:
    return any(
        name in plan.built_in_hook and assigned_value(statement, name) is plan.built_in_hook[name]
        for name in plan.loaders.values()
    )


def _class_name(index: SourceIndex, data) -> str:
    """`MNISTDataModule` for the data of `datasets.MNIST(...)`, else `DataModule`."""
    found = []
    for call in (c for d in data for c in find(d, cst.Call)):
        for qualified in index.qualified_names(call.func):
            if qualified.startswith("torchvision.datasets."):
                found.append(qualified.rpartition(".")[2])
    own = {s.name.value for s in index.module.body if isinstance(s, cst.ClassDef)}
    found += [
        c.func.value.removesuffix("Dataset")
        for d in data
        for c in find(d, cst.Call)
        if isinstance(c.func, cst.Name) and c.func.value in own
    ]
    kinds = list(dict.fromkeys(f for f in found if f and f not in ("ImageFolder", "DatasetFolder")))
    return f"{kinds[0]}DataModule" if len(kinds) == 1 else "DataModule"


# -- the rewrite -----------------------------------------------------------------------------


def _apply(index: SourceIndex, plan: DataPlan) -> cst.Module:
    cls = _class(index, plan)
    arguments = [
        cst.Arg(s.value, keyword=cst.Name(s.name), equal=_TIGHT)
        for s in plan.settings
        if s.value is not None
    ]
    call = cst.Call(cst.Name(plan.class_name), arguments)
    creation = cst.SimpleStatementLine(
        [cst.Assign([cst.AssignTarget(cst.Name(plan.variable))], call)],
        leading_lines=plan.data[0].leading_lines,
    )
    if len(arguments) > 3:
        creation = one_argument_per_line(creation)
    edits = _ScriptEdits(index, plan, creation, cls)
    return index.module.visit(edits)


_TIGHT = cst.AssignEqual(
    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
)


def _class(index: SourceIndex, plan: DataPlan) -> cst.ClassDef:
    names = _Names(index, plan)
    setup = [names.rewrite(s) for s in plan.data if not _builds_a_hooked_loader(index, plan, s)]
    if setup:
        setup[0] = setup[0].with_changes(leading_lines=[])
    objects = [s.name for s in plan.settings if not s.saved]
    ignore = f"ignore={objects!r}".replace("'", '"') if objects else ""
    settings = []
    if plan.settings:
        settings.append(cst.parse_statement(f"self.save_hyperparameters({ignore})"))
    settings += [cst.parse_statement(f"self.{n} = {n}") for n in objects]
    (cls,) = fill(
        "datamodule",
        name=cst.Name(plan.class_name),
        base=expr(f"{plan.alias}.LightningDataModule"),
        settings=settings,
        setup=setup or [cst.SimpleStatementLine([cst.Pass()])],
    )
    body = list(cls.body.body)
    init = body[1]
    params = [cst.Param(cst.Name(s.name), default=s.default, equal=_TIGHT) for s in plan.settings]
    body[1] = init.with_changes(
        params=init.params.with_changes(params=[*init.params.params, *params])
    )
    if not setup:
        body = body[:2]
    for hook in ("train_dataloader", "val_dataloader", "test_dataloader"):
        if hook not in plan.loaders:
            continue
        loader = plan.loaders[hook]
        value = (
            names.rewrite(plan.built_in_hook[loader])
            if loader in plan.built_in_hook
            else expr(f"self.{loader}")
        )
        body.append(
            cst.FunctionDef(
                cst.Name(hook),
                cst.Parameters([cst.Param(cst.Name("self"))]),
                cst.IndentedBlock([cst.SimpleStatementLine([cst.Return(value)])]),
                leading_lines=[cst.EmptyLine(indent=False)],
            )
        )
    blank = cst.EmptyLine(indent=False)
    evaluated = next(h for h in (*_EVALUATION, "train_dataloader") if h in plan.loaders)
    (predict,) = fill("predict_dataloader", hook=cst.Name(evaluated))
    body.append(predict.with_changes(leading_lines=[cst.EmptyLine(indent=False)]))
    return cls.with_changes(body=cls.body.with_changes(body=body), leading_lines=[blank, blank])


class _Names:
    """The data code's names as the DataModule reads them: a setting `self.hparams.x` (or
    `self.x`, an object), an option `args.x` -> `self.hparams.x`, what setup binds for a hook
    `self.x`."""

    def __init__(self, index: SourceIndex, plan: DataPlan) -> None:
        self.replace: dict[cst.CSTNode, cst.BaseExpression] = {}
        saved = {s.name for s in plan.settings if s.saved}
        objects = {s.name for s in plan.settings if not s.saved}
        nodes = [*plan.data, *plan.built_in_hook.values()]
        for setting in plan.settings:
            for literal in setting.literals:
                self.replace[literal] = expr(f"self.hparams.{setting.name}")
        for event in name_events(index, nodes):
            name = event.node.value
            if name == plan.namespace:
                attribute = index.parent(event.node)
                self.replace[attribute] = expr(f"self.hparams.{attribute.attr.value}")
            elif name in saved:
                self.replace[event.node] = expr(f"self.hparams.{name}")
            elif name in objects or name in plan.shared:
                self.replace[event.node] = expr(f"self.{name}")

    def rewrite(self, node):
        return node.visit(_Replace(self.replace))


class _Replace(cst.CSTTransformer):
    """The names replaced; blank lines without the indentation of where the code was."""

    def __init__(self, replace: dict) -> None:
        self.replace_by_id = {id(k): v for k, v in replace.items()}

    def on_leave(self, original, updated):
        found = self.replace_by_id.get(id(original))
        if found is not None:
            return found
        if isinstance(updated, cst.EmptyLine) and updated.comment is None:
            return updated.with_changes(indent=False, whitespace=cst.SimpleWhitespace(""))
        return updated


class _ScriptEdits(cst.CSTTransformer):
    """Out with the data code, in with the DataModule's creation (where the last data statement
    was) and its class (before the top-level statement holding the first), and `datamodule=`
    for the loaders given to `fit` and `test`."""

    def __init__(self, index: SourceIndex, plan: DataPlan, creation, cls) -> None:
        self.plan = plan
        self.data = {id(s) for s in plan.data}
        self.last = id(plan.data[-1])
        self.creation = creation
        self.cls = cls
        self.calls = {id(c) for c in [plan.fit, *plan.tests]}
        body = list(index.module.body)
        top = index.top_level(plan.data[0])
        self.anchor, self.class_after = id(top), None
        if not isinstance(top, (cst.FunctionDef, cst.ClassDef)):
            defs = [
                s for s in body[: body.index(top)] if isinstance(s, (cst.FunctionDef, cst.ClassDef))
            ]
            if defs:
                self.class_after, self.anchor = id(defs[-1]), None
            else:  # before the first statement that stays (or the DataModule's creation)
                rest = body[body.index(top) :]
                self.anchor = id(
                    next(s for s in rest if id(s) not in self.data or id(s) == self.last)
                )

    def on_leave(self, original, updated):
        key = id(original)
        if key in self.calls:
            return self._datamodule_given(updated)
        if key not in self.data and key not in (self.class_after, self.anchor):
            return updated
        statements = [updated]
        if key in self.data:
            statements = [self.creation] if key == self.last else []
        if key == self.class_after:
            statements.append(self.cls)
        if key == self.anchor:
            first = statements[0]
            statements = [self.cls, first.with_changes(leading_lines=_two_blank(first))]
        return cst.FlattenSentinel(statements) if statements else cst.RemovalSentinel.REMOVE

    def _datamodule_given(self, call: cst.Call) -> cst.Call:
        args = [a for a in call.args if a.keyword is None or a.keyword.value not in HOOKS]
        args = [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in args]
        given = cst.Arg(cst.Name(self.plan.variable), keyword=cst.Name("datamodule"), equal=_TIGHT)
        return call.with_changes(args=[*args, given])


def _two_blank(statement: cst.BaseStatement) -> list[cst.EmptyLine]:
    """Its comment lines, after the two blank lines that follow a class (PEP 8)."""
    comments = [line for line in statement.leading_lines if line.comment is not None]
    return [cst.EmptyLine(indent=False)] * 2 + comments
