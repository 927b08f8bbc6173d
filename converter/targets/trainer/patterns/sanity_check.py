"""Lightning's sanity check: before training, `Trainer.fit` runs two validation batches (and the
validation hooks around them), then trains. It is kept wherever it leaves the result alone:

- it cannot change the training itself: Lightning runs it under `isolate_rng` (the random
  state is restored afterwards), in eval mode, without gradients, and does not log what it
  logs (the logger connector skips the sanity check);
- the training epoch's own code reached from the validation hooks (what reads the evaluation's
  results) runs during fit only, not in the sanity check (`rewrite/lightning_module.py`).

What it can change is what the validation hooks do beyond computing their results: a print
would appear once more than in the original (a partial evaluation, before training), a file or
an outside object (a list, a writer) would be written, and state that one validation leaves for
the next (a best value) or for the first training epoch would start from the partial one, and a
validation loader with a random generator of its own would draw from it once more. A
validation that reads the training's state cannot run before training at all. In those cases
`num_sanity_val_steps=0` keeps the printed output and the results identical to the original's.
"""

from __future__ import annotations

import libcst as cst

from converter.analysis.bindings import assigned_call, code, single_binding
from converter.analysis.index import SourceIndex
from converter.analysis.names import names_read, names_written, read_before_written
from converter.analysis.site import Hook, Moved, Stage, StageName, TrainingSite
from converter.analysis.walk import find
from converter.targets.trainer.patterns.base import Emission, Example, Pattern

# Builtins that only compute.
_PURE_BUILTINS = frozenset(
    """abs all any bool dict divmod enumerate float int isinstance len list max min pow range
    reversed round sorted str sum tuple zip""".split()
)
# Modules whose functions only compute, but for these.
_PURE_MODULES = ("torch", "math", "numpy")
_EFFECTS = frozenset(
    """torch.save torch.manual_seed torch.seed torch.set_rng_state torch.cuda.manual_seed
    torch.cuda.manual_seed_all numpy.save numpy.savez numpy.savetxt""".split()
)
# Training hooks that run before an epoch's validation (or before all epochs).
_BEFORE_VALIDATION = (
    Hook.ON_FIT_START,
    Hook.ON_TRAIN_EPOCH_START,
    Hook.TRAINING_STEP,
    Hook.ON_TRAIN_BATCH_END,
    Hook.CONFIGURE_OPTIMIZERS,
)


class SanityCheck(Pattern):
    name = "sanity-check"
    example = Example(
        shape="a validation that prints, writes or keeps state",
        becomes="`num_sanity_val_steps=0`: no partial validation before training",
        before="""
        import torch
        from torch import nn
        from torch.utils.data import DataLoader, TensorDataset

        data = TensorDataset(torch.randn(64, 4), torch.randn(64, 1))
        loader = DataLoader(data, batch_size=8)
        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        val_loader = DataLoader(TensorDataset(torch.randn(16, 4), torch.randn(16, 1)))
        for epoch in range(3):
            for x, y in loader:
                optimizer.zero_grad()
                loss = nn.functional.mse_loss(model(x), y)
                loss.backward()
                optimizer.step()
            with torch.no_grad():
                for x, y in val_loader:
                    print(nn.functional.mse_loss(model(x), y).item())
        """,
        after="""
            def validation_step(self, batch, batch_idx):
                x, y = batch
                self.print(nn.functional.mse_loss(self.model(x), y).item())
        ...
        trainer = pl.Trainer(max_epochs=3, num_sanity_val_steps=0)
        """,
    )

    def emit(self, site: TrainingSite, index: SourceIndex, flow, out: Emission) -> None:
        if StageName.VALIDATION in site.stages and why_not(site, index) is not None:
            out.option("num_sanity_val_steps", cst.Integer("0"))


def why_not(site: TrainingSite, index: SourceIndex) -> str | None:
    """Why the sanity check would not leave the result alone (None: it would)."""
    validation = site.stages[StageName.VALIDATION]
    own = [
        item
        for moved in validation.hooks().values()
        for item in moved
        if item not in site.after_validation
    ]
    nodes = [item.node for item in own]
    batch = _batch_names(validation)
    written = names_written(index, nodes) | batch
    for item in own:
        for call in find(item.node, cst.Call):
            if not _computes(site, index, item, call, written):
                return f"validation calls {code(call.func)}() (line {index.line(call)})"
    read_first = read_before_written(index, nodes) - batch
    carried = sorted(read_first & written)
    if carried:
        return f"validation keeps `{carried[0]}` from one run to the next"
    trained = set()
    for (stage, hook), moved in site.hooks().items():
        if stage is StageName.TRAIN or hook is Hook.CONFIGURE_OPTIMIZERS:
            trained |= names_written(index, [item.node for item in moved])
            if hook in _BEFORE_VALIDATION:
                leaked = read_before_written(index, [item.node for item in moved]) & written
                leaked -= _batch_names(site.train) if hook.sees_batch else set()
                if leaked:
                    return f"training reads `{sorted(leaked)[0]}`, which validation sets"
    needed = sorted(names_read(index, nodes) & read_first & trained)
    if needed:
        return f"validation reads `{needed[0]}`, which training sets"
    if _draws_from_own_generator(site, index, validation.loader):
        return "the validation loader draws from a generator of its own"
    return None


def _draws_from_own_generator(site: TrainingSite, index: SourceIndex, loader) -> bool:
    """`DataLoader(..., generator=g)`: isolate_rng restores the global random state only, and
    a sanity check would move this one on."""
    if not isinstance(loader, cst.Name):
        return True
    for scope in (site.site_scope, index.body_scope(None)):
        call = assigned_call(single_binding(index, scope, loader.value), loader.value)
        if call is not None:
            return any(a.keyword is not None and a.keyword.value == "generator" for a in call.args)
    return True


def _batch_names(stage: Stage) -> set[str]:
    names = {n.value for n in find(stage.batch_target, cst.Name)}
    return names | ({stage.index_name} if stage.index_name else set())


def _computes(
    site: TrainingSite, index: SourceIndex, item: Moved, call: cst.Call, local: set[str]
) -> bool:
    """The call only computes a value: a builtin or a torch/math/numpy function, the model or a
    torch module of the script (a loss function), or a method of a value validation made.
    (Calls inside it are asked on their own.)"""
    qualified = index.qualified_names(call)
    if qualified and all(_pure_function(q) for q in qualified):
        return True
    root = call.func
    while isinstance(root, (cst.Attribute, cst.Subscript)):
        root = root.value
    if not isinstance(root, cst.Name):
        return root is not call.func  # a method of a computed value: `(a == b).sum()`
    if root.value in local and root is not call.func:
        return True
    name = item.origin.site_name(root)
    if name is None:
        return False
    if name in site.model_vars:
        return True
    made = None
    for scope in (site.site_scope, index.body_scope(None)):
        made = made or assigned_call(single_binding(index, scope, name), name)
    return made is not None and call.func is root and index.resolves_to(made.func, "torch.nn")


def _pure_function(qualified: str) -> bool:
    if qualified.startswith("builtins."):
        return qualified.removeprefix("builtins.") in _PURE_BUILTINS
    module = qualified.split(".")[0]
    return module in _PURE_MODULES and qualified not in _EFFECTS and ".random" not in qualified


PATTERN = SanityCheck()
