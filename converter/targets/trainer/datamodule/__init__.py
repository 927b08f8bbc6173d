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

import libcst as cst

from converter.analysis.index import SourceIndex
from converter.report import Report
from converter.targets.trainer.converted import line_near, trainer_calls
from converter.targets.trainer.datamodule.data_code import Kept
from converter.targets.trainer.datamodule.emit import apply
from converter.targets.trainer.datamodule.plan import plan_datamodule


def add_datamodule(source: SourceIndex, converted: cst.Module, report: Report) -> cst.Module:
    """`converted` with its loaders' code in a LightningDataModule, or as it is (and why, in
    `report`). `source` indexes the script converted: report lines are its lines."""
    index = SourceIndex(converted)
    try:
        plan = plan_datamodule(index, source)
    except Kept as kept:
        line = kept.line or line_near(source, index, kept.node or trainer_calls(index, "fit")[0])
        report.find("datamodule", line, f"the loaders stay in the script: {kept}")
        return converted
    if plan is None:
        return converted
    line = next((source.line(s) for s in plan.data if source.line(s)), 1)
    hooks = ", ".join([*(["setup"] if plan.has_setup else []), *plan.loaders])
    settings = ", ".join(s.name for s in plan.settings) or "no settings"
    report.change(
        "datamodule",
        line,
        f"the data code is now {plan.class_name} ({hooks}), created with {settings}",
    )
    return apply(index, plan)
