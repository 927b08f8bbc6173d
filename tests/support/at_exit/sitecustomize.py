"""Every Python process the tests start ends a live torch process group before it exits.

conftest.py puts this folder on PYTHONPATH, so the processes a test starts import it at start-up,
and so do the ranks Lightning, Fabric or torchrun start from them (they inherit the environment).
A process that exits with a gloo process group still alive can abort while the interpreter shuts
down ("terminate called without an active exception", exit -6): gloo's worker threads release
tensors after Python is gone (pytorch/pytorch#179291). Lightning never ends the group it starts,
so a converted script, or an original that does not call destroy_process_group itself, can
abort after everything has run. The torch bug is not the converter's: the tests end the group.
"""

import atexit
import sys


def _end_process_group() -> None:
    distributed = sys.modules.get("torch.distributed")
    if distributed is not None and distributed.is_available() and distributed.is_initialized():
        distributed.destroy_process_group()


atexit.register(_end_process_group)  # registered first, so it runs last of all atexit handlers
