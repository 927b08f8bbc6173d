"""Model classes defined in the script: subclasses of torch.nn.Module, directly or through other
classes of the same file."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from converter.analysis.index import SourceIndex
from converter.analysis.walk import find

# Lightning calls model.eval()/model.train() around evaluation. Layers named like these behave
# differently in the two modes, so a model using them needs the original to switch modes too.
_MODE_SENSITIVE = re.compile(
    r"(?i)dropout|batchnorm|instancenorm|syncbatchnorm|^training$|rnn|lstm|gru"
)


@dataclass
class ModelClass:
    node: cst.ClassDef
    name: str
    parents: list[ModelClass] = field(default_factory=list)  # model classes of this file it extends
    torch_base: cst.Arg | None = None  # the `nn.Module` base argument, on the root class only

    @property
    def root(self) -> ModelClass:
        """The class of this file whose base is nn.Module itself: it becomes the LightningModule."""
        return self if self.torch_base is not None else self.parents[0].root

    def lineage(self) -> list[ModelClass]:
        seen = [self]
        for parent in self.parents:
            seen.extend(c for c in parent.lineage() if c not in seen)
        return seen

    def method(self, name: str) -> cst.FunctionDef | None:
        for statement in self.node.body.body:
            if isinstance(statement, cst.FunctionDef) and statement.name.value == name:
                return statement
        return None


def find_model_classes(index: SourceIndex) -> dict[str, ModelClass]:
    """Top-level classes that are torch.nn.Module subclasses, keyed by name."""
    found: dict[str, ModelClass] = {}
    for statement in index.module.body:
        if not isinstance(statement, cst.ClassDef):
            continue
        model = ModelClass(statement, statement.name.value)
        for base in statement.bases:
            last = base.value.attr if isinstance(base.value, cst.Attribute) else base.value
            if getattr(last, "value", None) == "Module" and index.resolves_to(
                base.value, "torch.nn.Module", "torch.nn.modules.module.Module"
            ):
                model.torch_base = base
            elif isinstance(base.value, cst.Name) and base.value.value in found:
                model.parents.append(found[base.value.value])
        if model.torch_base is not None and model.parents:
            continue  # both nn.Module and a model class as bases: too unusual to restructure
        if model.torch_base is not None or len(model.parents) == 1:
            found[model.name] = model
    return found


def is_mode_sensitive(model: ModelClass | None, index: SourceIndex, call: cst.Call) -> bool:
    """Whether train/eval mode may change what the model computes (or how it uses the RNG).

    A class of this file is sensitive when it (or a class of the file it extends or builds
    submodules from) names dropout or normalisation layers, reads `self.training`, or builds
    submodules from model libraries. A model built elsewhere is assumed sensitive unless it is
    plain torch.nn layers (`nn.Sequential(nn.Linear(...), nn.ReLU())`) without such layers.
    """
    classes = {s.name.value: s for s in index.module.body if isinstance(s, cst.ClassDef)}
    if model is None:
        if not index.resolves_to(call.func, "torch.nn"):
            return True
        pending, seen = [call], set()
    else:
        pending, seen = [c.node for c in model.lineage()], set()
    while pending:
        node = pending.pop()
        key = node.name.value if isinstance(node, cst.ClassDef) else id(node)
        if key in seen:
            continue
        seen.add(key)
        for name in _identifiers(node):
            if _MODE_SENSITIVE.search(name.value):
                return True
            if name.value in classes and name.value not in seen:
                pending.append(classes[name.value])
            if index.resolves_to(name, *_MODEL_LIBRARIES):
                return True
    return False


_MODEL_LIBRARIES = ("torchvision", "timm", "transformers")


def _identifiers(node: cst.CSTNode) -> list[cst.Name]:
    return find(node, cst.Name)
