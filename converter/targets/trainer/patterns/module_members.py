"""The model's own attributes and methods that are also LightningModule members.

Once the model class derives from LightningModule, a name of the script's that Lightning's class
already has means something else: `self.device = torch.device("cpu")` fails at construction
(`device` is a read-only property, as are `current_epoch`, `logger`, `hparams`...), `self.trainer =
...` detaches the module from its Trainer, and a method `print` or `log` of the model takes the
place of Lightning's (`self.print` then prints nothing).

- `self.device = <device>` (plain statements of `__init__`): the device the script then moves the
  model to, which is what Lightning's own `self.device` is, on whatever device the Trainer puts
  the module: the assignment goes, the reads stay.
- Any other such attribute or method is renamed, in every class of the model's family and where
  the script reaches it through the model (`model.logger` -> `model.logger_`), unless it is a
  submodule, parameter or buffer (renaming it would change the state-dict keys): that is
  declined.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from converter.analysis import match as m
from converter.analysis.index import SourceIndex
from converter.analysis.models import ModelClass, find_model_classes
from converter.analysis.site import Declined, TrainingSite
from converter.analysis.walk import find
from converter.targets.trainer.patterns.base import Emission, Example, Pattern

# What LightningModule has beyond nn.Module (its properties, methods and the attributes its
# __init__ sets), pytorch_lightning 2.x. The hooks the conversion writes itself are declined
# earlier (planning/roles.py).
LIGHTNING_MEMBERS = frozenset(
    """automatic_optimization current_epoch device device_mesh dtype example_input_array fabric
    global_rank global_step hparams hparams_initial local_rank logger loggers on_gpu
    strict_loading trainer precision prepare_data_per_node
    allow_zero_length_dataloader_with_multiple_devices _automatic_optimization _compiler_ctx
    _current_fx_name _device _device_mesh _dtype _example_input_array _fabric _fabric_optimizers
    _log_hyperparams _metric_attributes _param_requires_grad_state _strict_loading _trainer
    all_gather backward clip_gradients configure_callbacks configure_gradient_clipping
    configure_model configure_sharded_model freeze load_from_checkpoint log log_dict
    lr_scheduler_step lr_schedulers manual_backward on_after_backward on_after_batch_transfer
    on_before_backward on_before_batch_transfer on_before_optimizer_step on_before_zero_grad
    on_fit_end on_fit_start on_load_checkpoint on_predict_batch_end on_predict_batch_start
    on_predict_end on_predict_epoch_end on_predict_epoch_start on_predict_model_eval
    on_predict_start on_save_checkpoint on_test_batch_end on_test_batch_start on_test_end
    on_test_epoch_end on_test_epoch_start on_test_model_eval on_test_model_train on_test_start
    on_train_batch_end on_train_batch_start on_train_end on_train_epoch_end on_train_epoch_start
    on_train_start on_validation_batch_end on_validation_batch_start on_validation_end
    on_validation_epoch_end on_validation_epoch_start on_validation_model_eval
    on_validation_model_train on_validation_model_zero_grad on_validation_start optimizer_step
    optimizer_zero_grad optimizers predict_dataloader predict_step prepare_data print
    save_hyperparameters setup teardown test_dataloader to_onnx to_torchscript toggle_optimizer
    toggled_optimizer train_dataloader transfer_batch_to_device unfreeze untoggle_optimizer
    val_dataloader""".split()
)
_REGISTERS = ("register_buffer", "register_parameter", "add_module", "register_module")


@dataclass
class MembersState:
    renamed: dict[str, str] = field(default_factory=dict)  # the script's name -> its new one
    nodes: list[cst.Name] = field(default_factory=list)  # the names to rename (attr, def)
    device_settings: list[cst.BaseStatement] = field(default_factory=list)  # removed


class ModuleMembers(Pattern):
    name = "module-members"
    example = Example(
        shape="model members LightningModule has too (`self.device = ...`, a method `log`)",
        becomes="`self.device` is Lightning's; the others renamed (`log` -> `log_`)",
        before="""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset


        class Net(nn.Module):
            def __init__(self, device):
                super().__init__()
                self.device = device
                self.fc = nn.Linear(4, 1)

            def forward(self, x):
                return self.fc(x.to(self.device))

            def log(self, message):
                print(f"[net] {message}")


        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        model = Net(device).to(device)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        for epoch in range(3):
            for x, y in loader:
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y.to(device))
                loss.backward()
                optimizer.step()
            model.log(f"epoch {epoch} done")
        """,
        after="""
        class Net(pl.LightningModule):
            def __init__(self, device):
                super().__init__()
                self.save_hyperparameters(ignore=["device"])
                self.fc = nn.Linear(4, 1)

            def forward(self, x):
                return self.fc(x.to(self.device))

            def log_(self, message):
                print(f"[net] {message}")
        ...
            def on_train_epoch_end(self):
                self.log_(f"epoch {self.current_epoch} done")
        """,
    )
    State = MembersState

    def check(self, site: TrainingSite, index: SourceIndex, flow) -> None:
        if site.model.cls is None:
            return  # a generated LightningModule holds the model: its names stay its own
        state = site.state(self)
        family = _family(index, site.model.cls)
        own = _own_names(family)
        for name in sorted(own & LIGHTNING_MEMBERS):
            assigned = [a for c in family for a in _self_attributes(c.node, name)]
            for node in _registered(family, name) + [
                a for a in assigned if _holds_module(index, a)
            ]:
                raise Declined(
                    index.line(node),
                    f"`{name}` of {site.model.cls.name} is a submodule, parameter or buffer "
                    "and a LightningModule member: renaming it would change the state-dict keys",
                )
            if name == "device" and not _defines(family, name):
                state.device_settings += [_device_setting(index, family, a) for a in assigned]
                continue
            taken = own | LIGHTNING_MEMBERS | set(flow.attributes) | set(flow.renamed.values())
            new = name + "_"
            while new in taken:
                new += "_"
            state.renamed[name] = new
            state.nodes += _references(index, site, family, name)

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        state = site.state(self)
        for node in state.nodes:
            new = cst.Name(state.renamed[node.value])
            out.replacements[node] = lambda _updated, new=new: new  # in moved code
            out.site_values[node] = new  # in the class and the code that stays
        out.site_removals += state.device_settings

    def report(self, site: TrainingSite, index: SourceIndex, report) -> None:
        state = site.state(self)
        cls = site.model.cls
        for name, new in state.renamed.items():
            report.change(
                "model",
                index.line(cls.node),
                f"{cls.name}.{name} -> {new}: LightningModule has a `{name}` of its own",
            )
        if state.device_settings:
            report.change(
                "device",
                index.line(state.device_settings[0]),
                f"{cls.name}'s self.device is Lightning's: the device the module is on",
            )


def _family(index: SourceIndex, cls: ModelClass) -> list[ModelClass]:
    """The classes whose instances share the model's attributes: its lineage and the classes of
    the file derived from it."""
    family = list(cls.lineage())
    for other in find_model_classes(index).values():
        if cls.root in other.lineage() and other.name not in {c.name for c in family}:
            family.append(other)
    return family


def _own_names(family: list[ModelClass]) -> set[str]:
    """The methods, class attributes and `self.<name>`s of the family's classes."""
    names = set()
    for cls in family:
        names |= {a.attr.value for a in find(cls.node, cst.Attribute) if _on_self(a)}
        names |= {_registered_name(call) for call in find(cls.node, cst.Call)} - {None}
        for statement in cls.node.body.body:
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                names.add(statement.name.value)
            else:  # `device = "cpu"` in the class body
                names |= {
                    t.target.value
                    for t in find(statement, cst.AssignTarget)
                    if isinstance(t.target, cst.Name)
                }
    return names


def _defines(family: list[ModelClass], name: str) -> bool:
    """A method or class attribute of that name (not only `self.name = ...`)."""
    for cls in family:
        for statement in cls.node.body.body:
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                if statement.name.value == name:
                    return True
            elif any(m.matches(t.target, m.Name(name)) for t in find(statement, cst.AssignTarget)):
                return True
    return False


def _on_self(attribute: cst.Attribute) -> bool:
    return isinstance(attribute.value, cst.Name) and attribute.value.value == "self"


def _self_attributes(node: cst.ClassDef, name: str) -> list[cst.Attribute]:
    """`self.name` as an assignment target in the class."""
    found = []
    for target in (
        find(node, cst.AssignTarget) + find(node, cst.AnnAssign) + find(node, cst.AugAssign)
    ):
        for attribute in [target.target] + find(target.target, cst.Attribute):
            if (
                isinstance(attribute, cst.Attribute)
                and _on_self(attribute)
                and attribute.attr.value == name
            ):
                found.append(attribute)
    return found


def _registered(family: list[ModelClass], name: str) -> list[cst.Call]:
    """`self.register_buffer("name", ...)` and the like."""
    return [c for cls in family for c in find(cls.node, cst.Call) if _registered_name(c) == name]


def _registered_name(call: cst.Call) -> str | None:
    if (
        isinstance(call.func, cst.Attribute)
        and call.func.attr.value in _REGISTERS
        and call.args
        and m.matches(call.args[0].value, m.SimpleString())
    ):
        return call.args[0].value.evaluated_value
    return None


def _holds_module(index: SourceIndex, target: cst.Attribute) -> bool:
    """The value assigned to `self.name` is a module or a parameter (a torch.nn call, or a model
    class of the script)."""
    statement = index.enclosing_statement(target)
    assign = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) else None
    value = getattr(assign, "value", None)
    if not isinstance(value, cst.Call):
        return False
    return index.resolves_to(value.func, "torch.nn") or (
        isinstance(value.func, cst.Name) and value.func.value in find_model_classes(index)
    )


def _device_setting(
    index: SourceIndex, family: list[ModelClass], target: cst.Attribute
) -> cst.BaseStatement:
    """`self.device = <value>` alone on a line of `__init__`, where it can simply go."""
    statement = index.enclosing_statement(target)
    init = index.enclosing_function(target)
    if not (
        m.matches(
            statement,
            m.SimpleStatementLine(body=[m.Assign(targets=[m.AssignTarget(m.Attribute())])]),
        )
        and statement.body[0].targets[0].target is target
        and init is not None
        and init.name.value == "__init__"
        and statement in init.body.body
        and any(init in cls.node.body.body for cls in family)
    ):
        raise Declined(
            index.line(target),
            "`self.device` is set where Lightning's own (the device the module is on) cannot "
            "take its place: set it as a plain statement of __init__, or name it differently",
        )
    return statement


def _references(
    index: SourceIndex, site: TrainingSite, family: list[ModelClass], name: str
) -> list[cst.Name]:
    """The names to rename: the definitions, `self.name` in the family's classes, and
    `model.name` wherever the script's code reaches the model by its variable."""
    found = []
    for cls in family:
        for statement in cls.node.body.body:
            if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
                found.append(statement.name)
            elif not isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                found += [
                    t.target
                    for t in find(statement, cst.AssignTarget)
                    if m.matches(t.target, m.Name(name))
                ]
        found += [
            a.attr for a in find(cls.node, cst.Attribute) if _on_self(a) and a.attr.value == name
        ]
    moved = {id(item.node): item for item in site.all_moved()}
    for attribute in index.nodes(cst.Attribute):
        if attribute.attr.value != name or not isinstance(attribute.value, cst.Name):
            continue
        receiver = attribute.value
        statement = index.enclosing_statement(attribute)
        item = None
        for ancestor in [statement, *index.ancestors(statement)] if statement else []:
            item = moved.get(id(ancestor))
            if item is not None:
                break
        if item is not None:
            if item.origin.site_name(receiver) in site.model_vars:
                found.append(attribute.attr)
        elif receiver.value in site.model_vars and _scope_of(index, receiver) is site.site_scope:
            found.append(attribute.attr)
    return found


def _scope_of(index: SourceIndex, name: cst.Name):
    scope = index.scope(name)
    return scope.lookup(name.value) if scope is not None else None


PATTERN = ModuleMembers()
