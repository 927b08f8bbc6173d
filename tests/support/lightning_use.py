"""Run a converted script as a Lightning user goes on to use it, in this (child) process:

    python -m tests.support.lightning_use MODE SCRIPT [SCRIPT_ARGS...]

MODE says what the user changes; the script's own `Trainer(...)` and `fit(...)` are kept:

- ``sanity``: the default sanity check (the script's `num_sanity_val_steps=` dropped);
- ``every2``: the same, and `check_val_every_n_epoch=2` (at least 2 epochs);
- ``validate``: `trainer.validate(module, val_loaders)` alone, on a copy of the fresh module
  before the script's fit (under `isolate_rng`, so that the training itself is not changed), and
  on the module after it.

torchvision datasets are verify's offline fakes. Prints ``VALIDATE <result>`` for each validate.
"""

from __future__ import annotations

import copy
import os
import runpy
import sys

MODES = ("sanity", "every2", "validate")


def main() -> None:
    mode, script, *args = sys.argv[1:]
    assert mode in MODES, mode
    sys.argv = [script, *args]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))

    import torch

    torch.manual_seed(0)
    from converter.verify import fakedata

    fakedata.install()
    import pytorch_lightning as pl
    from pytorch_lightning.utilities.seed import isolate_rng

    trainer_class = pl.Trainer
    original_init, original_fit = trainer_class.__init__, trainer_class.fit

    def init(self, *a, **kw):
        kw.setdefault("enable_progress_bar", False)
        if mode in ("sanity", "every2"):
            kw.pop("num_sanity_val_steps", None)
        if mode == "every2":
            kw["check_val_every_n_epoch"] = 2
            kw["max_epochs"] = max(2, kw.get("max_epochs") or 2)
        original_init(self, *a, **kw)

    def fit(self, model, train_dataloaders=None, val_dataloaders=None, *a, **kw):
        if mode == "validate" and val_dataloaders is not None:
            fresh = copy.deepcopy(model)
            with isolate_rng():
                # a Trainer of its own, with the script's evaluation setting
                inference_mode = self.validate_loop.inference_mode
                alone = trainer_class(
                    enable_progress_bar=False, logger=False, inference_mode=inference_mode
                )
                print("VALIDATE", alone.validate(fresh, val_dataloaders))
        result = original_fit(self, model, train_dataloaders, val_dataloaders, *a, **kw)
        if mode == "validate" and val_dataloaders is not None:
            print("VALIDATE", self.validate(model, val_dataloaders))
        return result

    trainer_class.__init__, trainer_class.fit = init, fit
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main()
