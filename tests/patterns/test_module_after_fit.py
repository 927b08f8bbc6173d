"""The module after fit and after test as the loop left it: gradients kept through validation
and trainer.test (Lightning clears them), none left where the loop zeroed after each step, the
model moved back to its device for code after training (Lightning's teardown left it on the
CPU)."""

from tests.patterns.snippets import STEP, changes, convert, declined, hook, script

VALIDATE = "with torch.no_grad():\n    for v in loader:\n        print(model(v).sum().item())\n"
TEST = "for x in loader:\n    print(model(x).sum().item())\n"
ZERO_AFTER = """\
loss = model(x).pow(2).mean()
loss.backward()
optimizer.step()
optimizer.zero_grad()
"""


def test_gradients_are_kept_through_validation():
    result = convert(script(epoch_end=VALIDATE))
    assert not declined(result), result.report.text()
    assert hook(result, "on_validation_model_zero_grad").startswith('"""Lightning clears')
    assert any("on_validation_model_zero_grad does nothing" in c for c in changes(result))


def test_without_validation_lightnings_zero_grad_hook_stays():
    assert hook(convert(script()), "on_validation_model_zero_grad") is None


def test_gradients_are_handed_back_after_trainer_test():
    result = convert(script() + TEST)
    assert not declined(result), result.report.text()
    lines = [line for line in result.code.splitlines() if line and not line.startswith(" ")]
    test = lines.index("trainer.test(lit_model, dataloaders=loader)")
    assert lines[test - 1].startswith("grads = [p.grad for p in lit_model.parameters()]")
    assert lines[test + 1] == "for parameter, grad in zip(lit_model.parameters(), grads):"


def test_a_loop_that_zeroes_after_the_step_ends_without_gradients():
    result = convert(script(batch=ZERO_AFTER, epoch_end=VALIDATE) + TEST)
    assert not declined(result), result.report.text()
    assert hook(result, "on_train_end").startswith("self.optimizers().zero_grad()")
    assert hook(result, "on_validation_model_zero_grad") is None  # none to keep
    assert "grads = " not in result.code


DEVICE = 'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")\n'


def test_the_model_goes_back_to_its_device_for_code_after_training():
    source = script(setup=DEVICE + "model.to(device)")
    result = convert(source + "print(model(torch.ones(1, 4).to(device)))\n")
    assert not declined(result), result.report.text()
    after = result.code.split("trainer.fit(lit_model, train_dataloaders=loader)\n")[1]
    assert after.startswith("model.to(device)  # where the loop left it")


def test_a_model_created_on_its_device_goes_back_there():
    source = script(setup=DEVICE).replace("nn.Linear(4, 1)", "nn.Linear(4, 1).to(device)")
    result = convert(source + "print(model(torch.ones(1, 4).to(device)))\n")
    after = result.code.split("trainer.fit(lit_model, train_dataloaders=loader)\n")[1]
    assert after.startswith("model.to(device)  #")


def test_a_model_unused_after_training_is_not_moved():
    result = convert(script(setup=DEVICE + "model.to(device)") + 'print("done")\n')
    assert not declined(result), result.report.text()
    assert "# where the loop left it" not in result.code


def test_after_test_the_model_goes_back_to_its_device_too():
    source = script(STEP, setup=DEVICE + "model.to(device)") + TEST + "print(model.weight)\n"
    result = convert(source)
    after_test = result.code.split("trainer.test(lit_model, dataloaders=loader)\n")[1]
    assert after_test.startswith("model.to(device)  # where the loop left it")
    assert "model.to(device)" not in result.code.split("trainer.test(")[0].split("trainer.fit(")[1]


def test_a_conditional_move_runs_again_as_it_was():
    setup = "use_gpu = torch.cuda.is_available()\nif use_gpu:\n    model = model.cuda()"
    result = convert(script(setup=setup) + "torch.save(model.state_dict(), 'model.pt')\n")
    assert not declined(result), result.report.text()
    after = result.code.split("trainer.fit(lit_model, train_dataloaders=loader)\n")[1]
    assert after.startswith(
        "# where the loop left it (Lightning's teardown moved it to the CPU)\n"
        "if use_gpu:\n    model = model.cuda()\n"
    )
    assert result.code.count("if use_gpu:") == 1  # gone from where it was
