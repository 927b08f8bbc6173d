"""``torch2lightning verify``: prove that a conversion trains, prints and evaluates as the
original does.

    torch2lightning verify train.py [--against converted.py] [--max-steps N] [--fake-data]
        [--tolerance T] [--devices N] [--accelerator cpu|gpu] [--json] [-- SCRIPT_ARGS...]

How it works:

1. :mod:`~converter.verify.command` (the CLI process; never imports torch) converts the script in
   memory (through :func:`converter.cli.file_runner.process`, as ``convert`` does) or takes
   ``--against``,
   and starts the runs through :mod:`~converter.verify.runs`: ``sys.executable -m
   converter.verify.runner``, each in a fresh working directory of its own, with
   ``OMP_NUM_THREADS=1``, ``PYTHONHASHSEED`` fixed and, unless ``--accelerator gpu``, no GPU
   visible. Their output goes to log files.
2. :mod:`~converter.verify.runner` (in each child) seeds ``random``/``numpy``/``torch``, sets one
   thread and deterministic algorithms, installs :mod:`~converter.verify.tracing`,
   :mod:`~converter.verify.capture` (what the script prints, without Lightning's own output),
   :mod:`~converter.verify.trainer_hooks` (the ``Trainer`` overrides and recordings a run needs)
   and, with ``--fake-data``, :mod:`~converter.verify.fakedata`; forgets its own package; then
   runs the unedited script with ``runpy.run_path(..., run_name="__main__")``.
3. :mod:`~converter.verify.tracing` records ``float(loss)`` at every ``torch.autograd.backward``
   (plain ``loss.backward()`` and Lightning's own call alike), counts optimizer steps with a global
   step post hook, stops the run after ``--max-steps`` with a private ``BaseException``, and
   dumps the trace (JSON: losses, steps, printed text, evaluations) and the final weights of every
   optimizer that stepped (raw bytes).
4. Back in the CLI process, standard library only: :mod:`~converter.verify.compare` compares the
   losses and weights, :mod:`~converter.verify.printed` the printed lines, and, with ``--devices
   N``, :mod:`~converter.verify.evaluation` the conversion's evaluation of its trained weights on
   1 and on N processes; the command prints the tables and the verdict.

Exit status: 0 equivalent, 1 diverged, 2 nothing to compare (a script failed, the converter
declined or could not read the script, no GPU), 3 verify itself failed, 130 interrupted.
"""
