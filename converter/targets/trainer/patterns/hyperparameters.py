"""Hyper-parameters as constructor arguments, recorded by `self.save_hyperparameters()`, as the
Lightning docs write them: `Net.load_from_checkpoint(path)` then rebuilds the module with them,
and `trainer.fit(..., ckpt_path=...)` resumes with them.

What the hooks read from the script's settings becomes a keyword argument of the module's
`__init__` (with the argparse default, or the value the script gave it, as its default), passed
where the script creates the model: `args.lr` -> `Net(lr=args.lr)`, read as `self.hparams.lr`.
Objects the hooks use (a loss module, a tensor, a function of the script) are arguments too,
but kept as attributes (`self.criterion`) and out of the hyper-parameters: a checkpoint stores
plain data only. A stateless torch.nn module made from literals (`nn.CrossEntropyLoss()`) is
built by `__init__` itself instead, so that `Net.load_from_checkpoint(path)` alone gives a
complete module; any other object must be passed to it again (`criterion=...`), as the report
says.

Where the site binds what the model is given only after creating it (`model = Net()`, then
`log_every = 4`), the creation moves down after those bindings when nothing in between could
tell (see `converter.analysis.construction`); else they are set on the module right after its
creation, which the checkpoint then records too.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from converter.analysis import match as m
from converter.analysis.argparse_options import parser_defaults
from converter.analysis.bindings import assigned_value, code, single_binding
from converter.analysis.construction import can_move_after, rebuildable
from converter.analysis.dataflow import RESERVED
from converter.analysis.index import SourceIndex
from converter.analysis.names import names_read
from converter.analysis.site import Declined, Origin, Role, TrainingSite
from converter.analysis.values import is_plain
from converter.analysis.walk import find
from converter.targets.trainer.patterns.base import Emission, Example, Pattern
from converter.templating import expr

_SUPER_INIT = m.SimpleStatementLine(
    body=[m.Expr(m.Call(func=m.Attribute(attr=m.Name("__init__"))))]
)


@dataclass
class HyperparametersState:
    names: list[str] = field(default_factory=list)  # saved hyper-parameters the hooks read
    objects: list[str] = field(default_factory=list)  # attributes, not hyper-parameters
    defaults: dict[str, cst.BaseExpression] = field(default_factory=dict)
    values: dict[str, cst.BaseExpression] = field(default_factory=dict)  # at the site's call
    ignored: list[str] = field(default_factory=list)  # constructor arguments that are objects
    late: list[str] = field(default_factory=list)  # set only after the model is created
    rebuilt: dict[str, cst.Call] = field(default_factory=dict)  # objects __init__ makes itself
    unused: list[cst.BaseStatement] = field(default_factory=list)  # their bindings, unread now
    created_after: cst.BaseStatement | None = None  # the model's creation moves after this


class Hyperparameters(Pattern):
    name = "hyperparameters"
    example = Example(
        shape="settings the loop reads (`args.lr`)",
        becomes="constructor arguments recorded by `self.save_hyperparameters()`",
        before="""
        import argparse

        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(4, 1)

            def forward(self, x):
                return self.fc(x)


        parser = argparse.ArgumentParser()
        parser.add_argument("--lr", type=float, default=0.1)
        args = parser.parse_args()
        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        model = Net()
        optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
        for epoch in range(3):
            for x, y in loader:
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
        """,
        after="""
        class Net(pl.LightningModule):
            def __init__(self, lr=0.1):
                super().__init__()
                self.save_hyperparameters()
                self.fc = nn.Linear(4, 1)
        ...
            def configure_optimizers(self):
                optimizer = torch.optim.SGD(self.parameters(), lr=self.hparams.lr)
                return optimizer
        ...
        model = Net(lr=args.lr)
        """,
    )
    State = HyperparametersState

    def check(self, site: TrainingSite, index: SourceIndex, flow) -> None:
        for model in site.models:
            _check_nothing_attached(index, model)
        state = site.state(self)
        namespace = site.namespace_var
        options = _namespace_reads(site, namespace) if namespace else []
        state.names = options + [n for n in flow.hparams if n not in options]
        for name in flow.objects:
            call = rebuildable(index, site.site_scope, name)
            if call is not None:
                state.rebuilt[name] = call
        state.objects = [n for n in flow.objects if n not in state.rebuilt]
        defaults = (
            parser_defaults(index, site.namespace_binding, site.site_scope) if namespace else {}
        )
        for name in options:
            state.defaults[name] = defaults.get(name, cst.Name("None"))
            state.values[name] = expr(f"{namespace}.{name}")
        for name in flow.hparams:
            value = assigned_value(single_binding(index, site.site_scope, name), name)
            literal = value is not None and is_plain(index, site.site_scope, value, set())
            state.defaults[name] = (
                value if literal and not find(value, cst.Name) else cst.Name("None")
            )
            state.values[name] = cst.Name(name)
        for name in state.objects:
            state.defaults[name] = cst.Name("None")
            state.values[name] = cst.Name(name)
        state.unused = [
            single_binding(index, site.site_scope, name)
            for name in state.rebuilt
            if not _read_at_site(index, site, name)
        ]
        _arrange_creation(index, site, state)
        taken = _constructor_parameters(site)
        for name in state.names + state.objects + list(state.rebuilt):
            if name in taken or name in RESERVED:
                raise Declined(
                    index.line(site.model.binding),
                    f"`{name}` would be both a constructor argument of {site.module_class} "
                    "and something else",
                )
        cls = site.model.cls
        if cls is not None:
            init = cls.method("__init__")
            if init is not None and not any(m.matches(s, _SUPER_INIT) for s in init.body.body):
                raise Declined(
                    index.line(init),
                    f"{cls.name}.__init__ does not call its base's __init__ as a statement",
                )
            state.ignored = _object_arguments(index, site, init)

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        state = site.state(self)
        new = state.names + state.objects
        out.init_parameters += [
            cst.Param(cst.Name(n), default=state.defaults[n], equal=_TIGHT) for n in new
        ]
        out.constructor_arguments += [
            cst.Arg(state.values[n], keyword=cst.Name(n), equal=_TIGHT)
            for n in new
            if n not in state.late
        ]
        # What the site sets only after creating the model is handed over before training.
        out.late_settings += [
            (f"hparams.{n}" if n in state.names else n, state.values[n]) for n in state.late
        ]
        out.site_removals += state.unused
        out.created_after = state.created_after
        ignore = _not_saved(site, state)
        if new or (site.model.cls is not None and _constructor_parameters(site)):
            arguments = f"ignore={ignore!r}".replace("'", '"') if ignore else ""
            out.init_statements.append(
                cst.parse_statement(f"self.save_hyperparameters({arguments})")
            )
        out.init_statements += [cst.parse_statement(f"self.{n} = {n}") for n in state.objects]
        out.init_statements += [
            cst.SimpleStatementLine([cst.Assign([cst.AssignTarget(expr(f"self.{n}"))], call)])
            for n, call in state.rebuilt.items()
        ]

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        state = site.state(self)
        line = index.line(site.model.binding)
        if state.names:
            listed = ", ".join(state.names)
            report.change(
                "hyperparameters",
                line,
                f"{site.module_class}({listed}) with save_hyperparameters(): a checkpoint "
                "records them",
            )
        if state.rebuilt:
            listed = ", ".join(f"`{n}`" for n in state.rebuilt)
            report.change(
                "hyperparameters", line, f"{listed} built in {site.module_class}.__init__"
            )
        if state.objects:
            listed = ", ".join(state.objects)
            report.change(
                "hyperparameters",
                line,
                f"{site.module_class}({listed}) as attributes, not hyper-parameters",
            )
        not_saved = _not_saved(site, state)
        if not_saved:
            listed = ", ".join(f"{n}=..." for n in not_saved)
            report.change(
                "hyperparameters",
                line,
                f"a checkpoint holds no {', '.join(not_saved)} (objects): "
                f"{site.module_class}.load_from_checkpoint(path, {listed}) needs them again",
            )
        if state.created_after is not None:
            report.change(
                "hyperparameters",
                line,
                f"the model is created after line {index.line(state.created_after)}, which "
                "binds what it is now given",
            )


def _not_saved(site: TrainingSite, state) -> list[str]:
    """The constructor's arguments that save_hyperparameters leaves out: objects."""
    if site.model.cls is None:
        wrapped = [model.var if len(site.models) > 1 else "model" for model in site.models]
        return wrapped + state.objects
    return state.ignored + state.objects


def _arrange_creation(index: SourceIndex, site: TrainingSite, state) -> None:
    """Which constructor arguments the site binds only after the model's creation (`late`),
    and whether that creation can move down after them instead (`created_after`). A generated
    LightningModule is created right before training, after all of them."""
    created = site.model.binding
    late = {
        name: bound
        for name in state.names + state.objects
        if (bound := [b for b in _bindings_of(index, site, state.values[name])])
        and any(index.line(b) >= index.line(created) for b in bound)
    }
    cls = site.model.cls
    if not late or cls is None:
        return
    state.late = list(late)
    if not m.matches(created, m.SimpleStatementLine([m.Assign([m.AssignTarget(m.Name())])])):
        return
    last = max((b for bound in late.values() for b in bound), key=index.line)
    leaving = set(site.removed) | set(state.unused)
    # at module level the class may read the script's globals while it is built
    reads = set() if site.site_function else names_read(index, [cls.node])
    if can_move_after(index, site.site_scope, created, last, leaving, reads):
        state.late, state.created_after = [], last


def _read_at_site(index: SourceIndex, site: TrainingSite, name: str) -> bool:
    """Whether code that stays at the site (not moving into hooks) reads `name`."""
    moving = [item.node for item in site.all_moved()] + list(site.removed)
    moving += [*site.test_region, *site.deleted_functions, *site.inlined.values(), site.outer_loop]
    moving = {n for n in moving if n not in site.kept_functions}
    for scope in index.scopes():
        if scope.lookup(name) is not site.site_scope:
            continue
        for access in scope.accesses[name]:
            if not index.paths_to([access.node]) & moving:
                return True
    return False


_TIGHT = cst.AssignEqual(
    whitespace_before=cst.SimpleWhitespace(""), whitespace_after=cst.SimpleWhitespace("")
)


def _bindings_of(index: SourceIndex, site: TrainingSite, value: cst.BaseExpression):
    """Where the site binds the names a value reads."""
    names = {n.value for n in find(value, cst.Name)}
    attributes = {id(a.attr) for a in find(value, cst.Attribute)}
    names -= {n.value for n in find(value, cst.Name) if id(n) in attributes}
    return [
        index.enclosing_statement(a.node)
        for name in names
        for a in site.site_scope.assignments[name]
        if a.scope is site.site_scope
    ]


def _namespace_reads(site: TrainingSite, namespace: str) -> list[str]:
    """The options the hooks read (`args.lr` -> "lr"), in the order they are first read; the
    whole namespace itself cannot be a hyper-parameter."""
    found: list[str] = []
    # An inlined function's parameter reads its argument (`print_every` -> `args.val_every`).
    pending = [(item.node, item.origin) for item in site.all_moved()]
    while pending:
        node, origin = pending.pop(0)
        found_attributes = find(node, cst.Attribute)
        attributes = {id(a.value): a for a in found_attributes}
        names_of_attributes = {id(a.attr) for a in found_attributes}
        for name in find(node, cst.Name):
            if id(name) in names_of_attributes:
                continue
            argument = origin.argument(name.value)
            if argument is not None and not isinstance(argument, cst.Name):
                pending.append((argument, Origin(site.site_scope)))
                continue
            if origin.site_name(name) != namespace:
                continue
            attribute = attributes.get(id(name))
            if attribute is None:
                raise Declined(
                    0,
                    f"the training code uses the whole argparse namespace `{namespace}`; only "
                    "its options can become the module's hyper-parameters",
                )
            if attribute.attr.value not in found:
                found.append(attribute.attr.value)
    return found


def _constructor_parameters(site: TrainingSite) -> list[str]:
    cls = site.model.cls
    if cls is None:
        return [model.var for model in site.models] + ["model"]
    init = cls.method("__init__")
    if init is None:
        return []
    params = init.params
    every = [*params.posonly_params, *params.params, *params.kwonly_params]
    return [p.name.value for p in every if p.name.value != "self"]


def _object_arguments(index: SourceIndex, site: TrainingSite, init) -> list[str]:
    """The model's own constructor arguments that are not plain data at the site's call: kept
    out of save_hyperparameters."""
    if init is None:
        return []
    positional = [p.name.value for p in init.params.params if p.name.value != "self"]
    ignored = []
    for position, arg in enumerate(site.model.call.args):
        name = arg.keyword.value if arg.keyword is not None else None
        if name is None and position < len(positional):
            name = positional[position]
        if name is not None and not is_plain(
            index, site.site_scope, arg.value, set(site.names(Role.NAMESPACE))
        ):
            ignored.append(name)
    return ignored


PATTERN = Hyperparameters()


def _check_nothing_attached(index: SourceIndex, model) -> None:
    """`model.classifier = nn.Sequential(...)` after `model = Net(...)`: `load_from_checkpoint`
    builds the module from its constructor alone, so what is attached afterwards is not there and
    the checkpoint's weights for it do not load. (A model the conversion wraps is given to the
    reload again, as it was trained.)"""
    if model.cls is None:
        return
    block = list(getattr(index.parent(model.binding), "body", ()))
    after = block[block.index(model.binding) + 1 :] if model.binding in block else []
    for statement in after:
        small = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) else None
        if not (isinstance(small, cst.Assign) and find(small.value, cst.Call)):
            continue
        for target in small.targets:
            attached = target.target
            if isinstance(attached, cst.Attribute) and m.matches(attached.value, m.Name(model.var)):
                name = model.cls.name
                raise Declined(
                    index.line(statement),
                    f"`{code(attached)}` is set after {name}(...) creates the model: "
                    f"load_from_checkpoint builds {name} from its constructor alone and would "
                    f"not have it (its saved weights would not load); set it in {name}.__init__",
                )
