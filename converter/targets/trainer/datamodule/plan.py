"""The DataModule's plan, read from the Trainer conversion: which loaders `fit` and `test` are
given, the data code that builds them, its settings, and what each loader hook returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from converter.analysis import match as m
from converter.analysis.argparse_options import is_parse_args, parser_defaults
from converter.analysis.bindings import assigned_value, code, is_main_guard
from converter.analysis.index import SourceIndex
from converter.analysis.names import READ, WRITE, name_events, read_before_written
from converter.analysis.values import is_plain
from converter.analysis.walk import find
from converter.targets.trainer.converted import line_near, method_of, trainer_calls, trainer_made
from converter.targets.trainer.datamodule.data_code import (
    Kept,
    changed_objects,
    check_effects,
    check_reads,
    data_statements,
    reads,
    simple_assignment,
    written,
)

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


_MUTABLE = (cst.Dict, cst.List, cst.Set, cst.DictComp, cst.ListComp, cst.SetComp)


_LOADERS = ("torch.utils.data.DataLoader", "torch.utils.data.dataloader.DataLoader")


_LOADER_SETTINGS = ("batch_size", "num_workers")


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
    # a dataset made inside a loader's call, made in setup instead: loader -> (attribute, call)
    datasets: dict[str, tuple[str, cst.Call]] = field(default_factory=dict)
    builds_in_hook: dict[int, str] = field(default_factory=dict)  # statement id -> its loader
    class_name: str = "DataModule"
    variable: str = "datamodule"

    @property
    def has_setup(self) -> bool:
        return bool(self.datasets) or any(id(s) not in self.builds_in_hook for s in self.data)


def plan_datamodule(index: SourceIndex, source: SourceIndex) -> DataPlan | None:
    found = trainer_calls(index, "fit")
    if not found:
        return None
    if len(found) > 1:
        raise Kept(0, "the script trains more than once; --datamodule takes one `fit`", found[1])
    (fit,) = found
    statement = index.enclosing_statement(fit)
    block = index.parent(statement)
    body = list(block.body)
    loaders = _loaders(fit, "train_dataloaders", "val_dataloaders")
    tests = [
        c
        for c in trainer_calls(index, "test")
        if index.enclosing_statement(c) in body and c.func.value.value == fit.func.value.value
    ]
    for test in tests:
        loaders.update(_loaders(test, "dataloaders"))
    scope = index.scope(statement)
    before = _run_before(index, block) + body[: body.index(statement)]
    given = {  # the loaders given, which the DataModule gives instead
        id(a.value)
        for call in [fit, *tests]
        for a in call.args[1:]
        if a.keyword is not None and a.keyword.value in HOOKS
    }
    data = data_statements(index, scope, before, set(loaders.values()), given)
    line = _liner(source, index, before)
    plan = DataPlan(
        alias=code(trainer_made(index, fit).func).rpartition(".")[0],
        fit=fit,
        tests=tests,
        data=data,
        loaders=loaders,
        built_in_hook={},
    )
    _check_loaders_are_the_scripts(index, source, plan, line_near(source, index, fit))
    check_reads(index, scope, data, given, line)
    check_effects(index, data, line)
    _settings(index, scope, plan, before, line)
    _hooks(index, plan)
    module_settings = _module_settings(index, fit)
    _check_shared_settings(plan, module_settings, line(fit))
    _loader_settings(index, plan, set(module_settings))
    plan.class_name = index.fresh_name(_class_name(index, data))
    plan.variable = index.fresh_name("datamodule")
    return plan


def _check_loaders_are_the_scripts(index: SourceIndex, source: SourceIndex, plan, line) -> None:
    """A loader the conversion made (a full-batch loop's one-item stand-in) holds no data of the
    script's: there is nothing to move."""
    for loader in plan.loaders.values():
        bindings = [s for s in plan.data if loader in written(index, s)]
        if not bindings or any(source.line(s) for s in bindings):
            continue  # the script's own
        scope = index.scope(bindings[0])
        read = [(scope.lookup(n), n) for n in reads(index, bindings[0])]
        if not any(owner is not None and _variable(owner, n) for owner, n in read):
            raise Kept(
                line,
                f"the training loop steps over data it holds whole (a full-batch loop); `{loader}` "
                "is the stand-in loader the conversion made, with no data of the script's",
            )


def _run_before(index: SourceIndex, block) -> list[cst.BaseStatement]:
    """The module's statements before an `if __name__ == "__main__":` block that holds `fit`:
    they run before it, in the same (module) scope."""
    guard = index.parent(block)
    if isinstance(guard, cst.If) and is_main_guard(guard) and guard in index.module.body:
        body = list(index.module.body)
        return body[: body.index(guard)]
    return []


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


def _liner(source: SourceIndex, index: SourceIndex, statements):
    """The line of a node in the script converted (its statement's, else the first data's)."""

    def line(node: cst.CSTNode) -> int:
        found = source.line(node)
        if not found:
            statement = index.enclosing_statement(node)
            found = source.line(statement) if statement is not None else 0
        return found or next((source.line(s) for s in statements if source.line(s)), 0)

    return line


def _settings(index: SourceIndex, scope, plan: DataPlan, body, line) -> None:
    """The values the data code reads from the script become constructor arguments, where the
    DataModule gets what the data code got."""
    data = plan.data
    last = body.index(data[-1])
    changed_by_data = changed_objects(index, data)
    free = read_before_written(index, data)
    for name in sorted(free, key=lambda n: _first_read(index, data, n)):
        reader = next(s for s in data if name in reads(index, s))
        between = [s for s in body[body.index(reader) : last] if s not in data]
        if name in {e.node.value for e in name_events(index, between) if e.kind == WRITE}:
            raise Kept(
                line(reader),
                f"`{name}` changes between the data code that reads it (line {line(reader)}) "
                "and the end of the data code, where the DataModule is created",
            )
        if scope.lookup(name) is not scope or not _variable(scope, name):
            continue  # an import, a function or class of the script, a builtin
        binding = _single_binding(index, scope, name)
        if is_parse_args(binding):  # options go in as values
            changed = _option_set(index, between, name, _options_read(index, data, name))
        else:  # an object: setup reads it inside `fit`
            passed = [s for s in body[body.index(reader) :] if s not in data]
            changed = changed_objects(index, passed).get(name)
        if changed is not None:
            raise Kept(
                line(changed),
                f"`{name}` is changed in place (line {line(changed)}) after the data code reads "
                "it and before `fit`, where the DataModule would read it",
            )
        if name in changed_by_data:
            where = changed_by_data[name]
            raise Kept(
                line(where),
                f"the data code changes `{name}` (line {line(where)}), which the script "
                "made and may read elsewhere; inside `fit` the change would come later",
            )
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


def _options_read(index: SourceIndex, data, namespace: str) -> set[str]:
    return {
        index.parent(e.node).attr.value
        for e in name_events(index, data)
        if e.node.value == namespace
        and m.matches(index.parent(e.node), m.Attribute(value=m.Name(namespace)))
    }


def _option_set(index: SourceIndex, statements, namespace: str, options: set[str]):
    """Where `statements` set one of `options` of the namespace (`opt.batch_size = 8`)."""
    for target in (t for s in statements for t in find(s, cst.AssignTarget)):
        wanted = m.Attribute(value=m.Name(namespace), attr=m.Name())
        if m.matches(target.target, wanted) and target.target.attr.value in options:
            return target
    return None


def _first_read(index: SourceIndex, data, name: str) -> int:
    events = [e for e in name_events(index, data) if e.node.value == name]
    return index.order(events[0].node) if events else 0


_NOT_VARIABLES = (cst.Import, cst.ImportFrom, cst.ImportAlias, cst.FunctionDef, cst.ClassDef)


def _variable(scope, name: str) -> bool:
    """Bound by assignments (not an import, def or class)."""
    return all(not isinstance(a.node, _NOT_VARIABLES) for a in scope.assignments[name])


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
        default = defaults.get(option, cst.Name("None"))
        if find(default, _MUTABLE):  # one list shared by every instance: None instead
            default = cst.Name("None")
        plan.settings.append(Setting(option, default, parent, saved=True))


def _hooks(index: SourceIndex, plan: DataPlan) -> None:
    """A loader bound once by `name = <value>`, read by nothing else of the data code, is built
    in its hook; any other is built in `setup` and the hook returns it."""
    for name in set(plan.loaders.values()):
        bindings = [s for s in plan.data if name in written(index, s)]
        value = assigned_value(bindings[0], name) if len(bindings) == 1 else None
        others = [s for s in plan.data if s is not bindings[0] and name in reads(index, s)]
        if value is not None and not others and simple_assignment(bindings[0]):
            plan.built_in_hook[name] = value
    for name, value in plan.built_in_hook.items():
        binding = next(s for s in plan.data if assigned_value(s, name) is value)
        plan.builds_in_hook[id(binding)] = name
    _datasets_of_hooks(index, plan)
    setup = [s for s in plan.data if id(s) not in plan.builds_in_hook]
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


def _datasets_of_hooks(index: SourceIndex, plan: DataPlan) -> None:
    """`DataLoader(datasets.MNIST(...), ...)` built in a hook would make the dataset at each call
    of the hook: the dataset is made in setup, where the loader's statement was, as
    `self.train_dataset`, and the hook's loader reads it."""
    taken = {e.node.value for e in name_events(index, plan.data)} | TAKEN
    for hook, loader in plan.loaders.items():
        value = plan.built_in_hook.get(loader)
        if not isinstance(value, cst.Call) or not index.resolves_to(value.func, *_LOADERS):
            continue
        first = value.args[0] if value.args else None
        if first is None or first.keyword is not None or not isinstance(first.value, cst.Call):
            continue
        attribute = hook.removesuffix("_dataloader") + "_dataset"
        while attribute in taken:
            attribute += "_"
        taken.add(attribute)
        plan.datasets[loader] = (attribute, first.value)


def _module_settings(index: SourceIndex, fit: cst.Call) -> dict[str, str | None]:
    """The constructor parameters of the LightningModule `fit` trains, each with the code the
    script passes it (None: its default)."""
    module = fit.args[0].value if fit.args else None
    scope = index.scope(fit)
    if not isinstance(module, cst.Name) or scope is None:
        return {}
    binding = _single_binding(index, scope.lookup(module.value) or scope, module.value)
    created = assigned_value(binding, module.value) if binding is not None else None
    if not isinstance(created, cst.Call) or not isinstance(created.func, cst.Name):
        return {}
    classes = {c.name.value: c for c in index.module.body if isinstance(c, cst.ClassDef)}
    cls = classes.get(created.func.value)
    init = method_of(cls, "__init__") if cls is not None else None
    if init is None:
        return {}
    given = {a.keyword.value: code(a.value) for a in created.args if a.keyword is not None}
    params = [*init.params.params, *init.params.kwonly_params][1:]
    return {p.name.value: given.get(p.name.value) for p in params}


def _check_shared_settings(plan: DataPlan, module: dict[str, str | None], line: int) -> None:
    """Lightning logs the module's and the DataModule's hyper-parameters together, and stops
    where one name has two values: a name both have must be given the same value."""
    for setting in plan.settings:
        if setting.name not in module:
            continue
        mine = code(setting.value) if setting.value is not None else None
        if mine is None or mine != module[setting.name]:
            raise Kept(
                line,
                f"the setting `{setting.name}` is also a hyper-parameter of the module, with "
                "another value: Lightning refuses two values for one hyper-parameter name",
            )


def _loader_settings(index: SourceIndex, plan: DataPlan, taken_by_module: set[str]) -> None:
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
    taken = {s.name for s in plan.settings} | plan.shared | taken_by_module
    for keyword, literals in found.items():
        if len({v.value for v in literals}) == 1 and keyword not in taken:
            setting = Setting(keyword, literals[0], None, saved=True, literals=tuple(literals))
            plan.settings.append(setting)


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
