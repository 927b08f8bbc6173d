"""lightning_train.py with the root logger on stdout, set up before Lightning is imported: then
Lightning's own info lines ("GPU available: ...", the model summary, "`Trainer.fit` stopped")
reach stdout through the root logger. verify tells them apart by their loggers' names: this
script must verify against plain_train.py (exit 0)."""

import logging
import sys

logging.basicConfig(stream=sys.stdout, level=logging.INFO, format="%(name)s: %(message)s")

from lightning_train import main  # noqa: E402

if __name__ == "__main__":
    main()
