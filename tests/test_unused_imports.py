"""Imports the conversion leaves unused are taken out; the script's own unused ones stay."""

from __future__ import annotations

from pathlib import Path

from converter import convert_source

GOLDEN_FABRIC = Path(__file__).parent / "golden_fabric"
SCRIPT = """\
import json  # never read: the script's own affair
import torch
from torch import nn
# the progress bar
from tqdm import tqdm

model = nn.Linear(4, 1)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
for epoch in range(2):
    for x in tqdm(loader):
        optimizer.zero_grad()
        loss = model(x).pow(2).mean()
        loss.backward()
        optimizer.step()
"""


def test_an_import_only_the_removed_code_read_goes_and_its_comment_stays():
    code = convert_source(SCRIPT).code
    assert "tqdm" not in code.replace("# the progress bar", "")
    assert "# the progress bar\nimport pytorch_lightning as pl\n" in code, code
    assert "import json  # never read" in code
    compile(code, "converted.py", "exec")


def test_one_name_of_a_from_import_goes_and_the_others_stay():
    source = SCRIPT.replace("from tqdm import tqdm", "from tqdm import tqdm, trange")
    source += "print(list(trange(2)))\n"
    code = convert_source(source).code
    assert "from tqdm import trange\n" in code, code


def test_fabric_drops_the_ddp_imports_with_the_boilerplate():
    source = (GOLDEN_FABRIC / "ddp.in.py").read_text()
    assert "import torch.distributed as dist" in source
    result = convert_source(source, target="fabric")
    assert result.changed, result.report.text()
    assert "import torch.distributed" not in result.code
    assert "DistributedDataParallel" not in result.code
