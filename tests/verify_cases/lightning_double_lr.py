"""lightning_train.py with a doubled learning rate: must diverge from plain_train.py at step 2
(the first loss comes before any update). Imports its sibling module, like real projects do."""

from lightning_train import main

if __name__ == "__main__":
    main(lr_scale=2.0)
