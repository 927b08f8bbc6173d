"""metrics, logged_metrics, rank_zero: sums over the batches made totals over the processes, the
means an evaluation prints logged under val_/test_ names, files hooks write written once.

(tests/test_sums_over_processes.py runs such conversions on 1 and 2 processes.)"""

import textwrap

import pytest

from tests.patterns.snippets import STEP, changes, convert, hook, script

SUMMED = STEP + "running += loss.item()\n"
REDUCED = "if self.trainer.world_size > 1:  # the totals over all processes' batches"


def test_a_training_sum_becomes_the_total_before_the_epoch_end_reads_it():
    source = script(SUMMED, epoch_start="running = 0.0", epoch_end="print(running / len(loader))")
    result = convert(source)
    end = hook(result, "on_train_epoch_end")
    assert end.startswith(
        REDUCED + "\n    self.running = self.all_gather(self.running).sum().item()\n"
    ), end
    # this process's batches, times the processes: all the batches the sum went over
    assert "self.running / (self.trainer.num_training_batches * self.trainer.world_size)" in end
    assert "_sum_over_processes" not in result.code
    assert any("training totals `running` summed over processes" in c for c in changes(result))


def test_a_sum_divided_by_the_batch_index_stays_the_processes_own():
    source = script(SUMMED, epoch_start="running = 0.0", epoch_end="print(running / (i + 1))")
    result = convert(source)
    assert "all_gather" not in result.code
    assert any("kept per process" in c for c in changes(result))


@pytest.mark.parametrize(
    "setup, batch, epoch_start",
    [
        ("running = 0.0", SUMMED, ""),  # carried across the epochs: reduced again every epoch
        ("", SUMMED + "if i % 2 == 1:\n    running = 0.0\n", "running = 0.0"),  # reset per batch
    ],
    ids=["carried across epochs", "reset in the batch loop"],
)
def test_other_sums_are_left_as_they_are(setup, batch, epoch_start):
    source = script(batch, setup=setup, epoch_start=epoch_start, epoch_end="print(running)")
    assert "all_gather" not in convert(source).code


EVALUATION = """\
import torch
from torch import nn

model = nn.Linear(4, 3)
optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
data = torch.utils.data.TensorDataset(torch.randn(32, 4), torch.randint(0, 3, (32,)))
loader = torch.utils.data.DataLoader(data, batch_size=8)
val_loader = torch.utils.data.DataLoader(data, batch_size=8)
for epoch in range(2):
    for x, y in loader:
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
    {start}
    with torch.no_grad():
        for x, y in val_loader:
            out = model(x)
            {step}
    {end}
"""


def evaluation(start: str, step: str, end: str) -> str:
    return EVALUATION.format(
        start=textwrap.indent(start, "    ").strip(),
        step=textwrap.indent(step, "            ").strip(),
        end=textwrap.indent(end, "    ").strip(),
    )


ACCURACY = evaluation(
    "test_loss, correct = 0.0, 0",
    "test_loss += nn.functional.cross_entropy(out, y, reduction='sum').item()\n"
    "correct += (out.argmax(1) == y).sum().item()",
    "test_loss /= len(val_loader.dataset)\n"
    'print("Average loss: {:.4f}, Accuracy: {}/{} ({:.0f}%)".format(\n'
    "    test_loss, correct, len(val_loader.dataset), 100.0 * correct / len(val_loader.dataset)))",
)


def test_an_evaluation_logs_the_means_it_prints_under_val_names():
    end = hook(convert(ACCURACY), "on_validation_epoch_end")
    logged = [line for line in end.splitlines() if line.startswith("self.log(")]
    assert logged == [
        'self.log("val_accuracy", 100.0 * self.correct / '
        "len(self.trainer.val_dataloaders.dataset), sync_dist=True)",
        'self.log("val_loss", self.test_loss, sync_dist=True)',
    ], end
    # the raw count is printed as a count, not logged as a metric
    assert '"correct"' not in end and '"test_loss"' not in end


def test_a_number_sum_comes_back_a_number_and_a_tensor_sum_a_tensor():
    source = evaluation(
        "loss_sum, hits = 0.0, 0",
        "loss_sum += nn.functional.cross_entropy(out, y).item()\n"
        "hits += (out.argmax(1) == y).sum()",
        "print(loss_sum / len(val_loader), hits)",
    )
    end = hook(convert(source), "on_validation_epoch_end")
    assert "self.loss_sum = self.all_gather(self.loss_sum).sum().item()" in end
    assert "self.hits = self.all_gather(self.hits).sum(0)" in end


def test_a_sum_of_per_batch_means_counts_every_process_s_batches_and_is_logged():
    source = evaluation(
        "val_loss = 0.0",
        "val_loss += nn.functional.cross_entropy(out, y).item() / len(val_loader)",
        'print(f"validation {val_loss:.4f}")',
    )
    result = convert(source)
    step = hook(result, "validation_step")
    assert "/ (len(self.trainer.val_dataloaders) * self.trainer.world_size)" in step, step
    end = hook(result, "on_validation_epoch_end")
    assert 'self.log("val_loss", self.val_loss, sync_dist=True)' in end


def test_the_training_loss_is_logged_every_epoch_too():
    step = hook(convert(script()), "training_step")
    assert 'self.log("train_loss", loss, prog_bar=True, on_epoch=True, sync_dist=True)' in step


@pytest.mark.parametrize(
    "writes",
    [
        'torch.save(model.state_dict(), "last.pt")',
        'with open("epochs.txt", "a") as log:\n    log.write(str(epoch))',
    ],
    ids=["torch.save", "open for appending"],
)
def test_a_file_a_hook_writes_is_written_by_process_0(writes):
    end = hook(convert(script(epoch_end=writes)), "on_train_epoch_end")
    assert end.startswith("if self.trainer.is_global_zero:\n    "), end


def test_a_file_a_hook_reads_is_read_by_every_process():
    reads = "with open(__file__) as f:\n    print(len(f.read()))"
    end = hook(convert(script(epoch_end=reads)), "on_train_epoch_end")
    assert "is_global_zero" not in end


def test_a_save_that_reads_a_sum_saves_the_total_on_process_0():
    saves = 'torch.save({"loss": running / len(loader)}, "loss.pt")'
    source = script(SUMMED, epoch_start="running = 0.0", epoch_end=saves)
    end = hook(convert(source), "on_train_epoch_end")
    assert end.startswith(REDUCED), end
    assert "\nif self.trainer.is_global_zero:\n    torch.save(" in end, end


def test_a_single_pass_s_sum_read_after_fit_is_the_total():
    source = textwrap.dedent(
        """\
        import torch
        from torch import nn

        model = nn.Linear(4, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        loader = torch.utils.data.DataLoader(torch.randn(32, 4), batch_size=8)
        running = 0.0
        for x in loader:
            optimizer.zero_grad()
            loss = model(x).pow(2).mean()
            loss.backward()
            optimizer.step()
            running += loss.item()
        print(running / len(loader))
        """
    )
    end = hook(convert(source), "on_train_epoch_end")
    assert end == REDUCED + "\n    self.running = self.all_gather(self.running).sum().item()"


def test_a_file_named_after_its_process_is_written_by_every_process():
    writes = (
        'with open(f"rank{os.environ.get(\'LOCAL_RANK\', 0)}.txt", "w") as f:\n    f.write("x")'
    )
    end = hook(convert("import os\n" + script(epoch_end=writes)), "on_train_epoch_end")
    assert "is_global_zero" not in end, end


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (
            'torch.save(model.state_dict(), "model.pt")\n',
            'if trainer.is_global_zero:\n    torch.save(model.state_dict(), "model.pt")\n',
        ),
        (
            'if len(loader):\n    torch.save(model.state_dict(), "model.pt")\n',
            "if len(loader):\n    if trainer.is_global_zero:\n"
            '        torch.save(model.state_dict(), "model.pt")\n',
        ),
    ],
    ids=["a statement of its own", "inside an if"],
)
def test_a_file_the_script_writes_after_training_is_written_by_process_0(after, expected):
    """Every process runs the script's code after fit: the file would be written by all."""
    result = convert(script() + after)
    assert result.code.endswith(expected), result.code
    assert "written by process 0 only (every process runs" in result.report.text()


def test_a_file_the_script_reads_after_training_is_read_by_every_process():
    result = convert(script() + 'model.load_state_dict(torch.load("model.pt"))\n')
    assert "is_global_zero" not in result.code
