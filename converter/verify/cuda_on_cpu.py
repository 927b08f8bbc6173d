"""`verify --cuda-on-cpu`: run a script that hard-codes CUDA (`model.cuda()`, `x.cuda()`,
`torch.cuda.FloatTensor`) on a machine without a GPU, in both runs, so that it can be compared
with its conversion at all:

- `tensor.cuda()`: a copy on the CPU. On a GPU it is a copy too: writes to it do not reach the
  original tensor, and gradients flow back through it (a leaf's `.cuda()` is not a leaf);
- `module.cuda()`: the module itself, as on a GPU (its parameters move in place there);
- `torch.cuda.FloatTensor` and the other legacy CUDA tensor types: the CPU types;
- a CUDA device handed to torch (`torch.device("cuda")`, `.to("cuda:0")`, `.to(0)`,
  `torch.zeros(3, device="cuda")`): the CPU, through a torch function mode, which sees every
  call into torch with its arguments;
- `torch.cuda.set_device(...)`: nothing; `torch.cuda.current_device()`: 0 (a LightningModule's
  `cuda()` asks for it, then calls `Module.cuda`).

`torch.cuda.is_available()` stays False, so a script that asks takes its CPU branch as before.
The conversion runs under the same shim as the original: what verify compares is still the
conversion against the original, both on the CPU.
"""

from __future__ import annotations

_TENSOR_TYPES = (
    "FloatTensor",
    "DoubleTensor",
    "HalfTensor",
    "BFloat16Tensor",
    "ByteTensor",
    "CharTensor",
    "ShortTensor",
    "IntTensor",
    "LongTensor",
    "BoolTensor",
)


def install() -> list[str]:
    import torch

    def tensor_cuda(self, device=None, non_blocking=False, **kwargs):
        return self.to("cpu", copy=True)

    def module_cuda(self, device=None):
        return self

    torch.Tensor.cuda = tensor_cuda
    torch.nn.Module.cuda = module_cuda
    for name in _TENSOR_TYPES:
        if hasattr(torch, name):
            setattr(torch.cuda, name, getattr(torch, name))
    torch.cuda.set_device = lambda device: None
    # a LightningModule's own cuda() asks for the current device before Module.cuda
    torch.cuda.current_device = lambda: 0
    _cuda_devices_are_the_cpu(torch)
    return [
        "tensor.cuda()",
        "module.cuda()",
        "torch.cuda.*Tensor",
        "CUDA devices",
        "set_device",
        "current_device",
    ]


def _cuda_devices_are_the_cpu(torch) -> None:
    from torch.overrides import TorchFunctionMode

    to = torch.Tensor.to

    def cpu(value):
        if isinstance(value, torch.device) and value.type == "cuda":
            return torch.device("cpu")
        if isinstance(value, str) and (value == "cuda" or value.startswith("cuda:")):
            return "cpu"
        return value

    class CudaIsTheCpu(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            args = tuple(cpu(a) for a in args)
            if func is to and len(args) > 1 and type(args[1]) is int:  # x.to(0): cuda:0
                args = (args[0], "cpu", *args[2:])
            kwargs = {k: cpu(v) for k, v in (kwargs or {}).items()}
            return func(*args, **kwargs)

    CudaIsTheCpu().__enter__()  # for the rest of the run
