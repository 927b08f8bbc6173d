"""``torch2lightning verify``: prove that a conversion trains exactly like the original.

    torch2lightning verify train.py [--against converted.py] [--max-steps N] [--fake-data]
        [--tolerance T] [--keep] [-v] [-- SCRIPT_ARGS...]

How it works:

1. :mod:`~converter.verify.command` (the CLI process; never imports torch) converts the script
   with ``convert_source`` (or takes ``--against``), and starts two children with
   ``sys.executable -m converter.verify.runner``, each in a fresh working directory of its own,
   with ``OMP_NUM_THREADS=1``, ``PYTHONHASHSEED`` fixed and no GPU visible. Their output goes to
   log files.
2. :mod:`~converter.verify.runner` (in each child) seeds ``random``/``numpy``/``torch``, sets one
   thread and deterministic algorithms, installs the hooks of :mod:`~converter.verify.tracing`
   (and :mod:`~converter.verify.fakedata` with ``--fake-data``), then runs the unedited script
   with ``runpy.run_path(..., run_name="__main__")``.
3. :mod:`~converter.verify.tracing` records ``float(loss)`` at every ``torch.autograd.backward``
   (plain ``loss.backward()`` and Lightning's own call alike), counts optimizer steps with a global
   step post hook, stops the run after ``--max-steps`` with a private ``BaseException``, and
   dumps the trace (JSON) and the final weights of every optimizer that stepped (raw bytes).
4. :mod:`~converter.verify.compare` (back in the CLI process, standard library only) compares
   the traces step by step and tensor by tensor, prints a short table and the verdict.

Exit status: 0 equivalent, 1 diverged, 2 nothing to compare (a script failed, or the converter
declined).
"""
