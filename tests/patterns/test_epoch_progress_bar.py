"""epoch_progress_bar: `for epoch in tqdm(range(n))`, `trange(n)` -> the range's epochs."""

import pytest

from tests.patterns.snippets import SCRIPT, STEP, changes, convert, declined, trainer_options


def _script(epochs: str, imports: str = "from tqdm import tqdm, trange\n") -> str:
    body = SCRIPT.format(setup="", epoch_start="", batch=_indent(STEP), epoch_end="")
    return imports + body.replace("for epoch in range(2):", f"for epoch in {epochs}:")


def _indent(text: str) -> str:
    return "".join("        " + line + "\n" for line in text.splitlines())


COUNTED = {
    "tqdm over a range": ("tqdm(range(3))", "3"),
    "tqdm with options": ('tqdm(range(3), desc="epochs", leave=False)', "3"),
    "tqdm from 1": ("tqdm(range(1, 4))", "3"),
    "trange": ("trange(3)", "3"),
    "trange with options": ('trange(EPOCHS, desc="epochs")', "EPOCHS"),
    "trange from a start": ("trange(1, EPOCHS + 1)", "EPOCHS"),
}


@pytest.mark.parametrize("epochs, max_epochs", COUNTED.values(), ids=COUNTED)
def test_the_range_in_the_bar_gives_the_epochs(epochs, max_epochs):
    result = convert(_script(epochs).replace("import torch\n", "import torch\nEPOCHS = 3\n", 1))
    assert not declined(result), result.report.text()
    assert trainer_options(result)["max_epochs"] == max_epochs
    assert "tqdm" not in result.code.split("class ", 1)[1]  # the bar went with the loop
    assert any("progress bar over the epochs" in c for c in changes(result))


SPELLINGS = {
    "tqdm.auto": ("tqdm.auto.trange(3)", "import tqdm.auto\n"),
    "the package": ("tqdm.tqdm(range(3))", "import tqdm\n"),
    "an alias": ("bar(range(3))", "from tqdm import tqdm as bar\n"),
    "a notebook's": ("trange(3)", "from tqdm.notebook import trange\n"),
    "autonotebook": ("tqdm(range(3))", "from tqdm.autonotebook import tqdm\n"),
}


@pytest.mark.parametrize("epochs, imports", SPELLINGS.values(), ids=SPELLINGS)
def test_every_spelling_of_the_bar_is_seen(epochs, imports):
    result = convert(_script(epochs, imports=imports))
    assert not declined(result), result.report.text()
    assert trainer_options(result)["max_epochs"] == "3"


def test_a_bar_option_that_calls_something_is_declined_with_its_reason():
    result = convert(_script('tqdm(range(3), file=open("epochs.log", "w"))'))
    assert 'is given `open("epochs.log", "w")`' in declined(result)


def test_the_first_epoch_number_follows_the_range():
    first = STEP.splitlines()[0]
    result = convert(_script("trange(1, 4)").replace(first, f"print(epoch)\n        {first}"))
    assert not declined(result), result.report.text()
    assert "self.print(self.current_epoch + 1)" in result.code


DECLINED = {
    "not a range": ("tqdm(epoch_list)", "iterates `tqdm(epoch_list)`"),
    "a step": ("trange(0, 6, 2)", "`range(0, 6, 2)` has a step"),
    "unknown arguments": ("trange(*bounds)", "iterates `trange(*bounds)`"),
    "a held bar": ("bar", "iterates `bar`"),  # the loop may update it
}


@pytest.mark.parametrize("epochs, reason", DECLINED.values(), ids=DECLINED)
def test_other_iterables_of_epochs_are_declined_naming_what_they_iterate(epochs, reason):
    setup = "epoch_list = [0, 1]\nbounds = (0, 2)\nbar = tqdm(range(2))\n"
    source = _script(epochs).replace("import torch\n", "import torch\n" + setup, 1)
    assert reason in declined(convert(source))


def test_a_plain_range_is_not_reported():
    result = convert(_script("range(2)"))
    assert not declined(result)
    assert not any("progress bar" in c for c in changes(result))
