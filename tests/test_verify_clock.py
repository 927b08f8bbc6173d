"""verify's skewed clock (the second run of the original, which tells a clock's printed lines from
a real difference) must leave a script's libraries working: compiled extensions such as pandas
take `datetime.datetime` as the C type they were built against when they load."""

from __future__ import annotations

import subprocess
import sys

SKEWED_THEN_PANDAS = """
from converter.verify import clock
clock.install()
import datetime
import pandas
script = datetime.datetime.now()  # the script's own clock read: skewed
library = pandas.Timestamp.now().to_pydatetime()  # pandas' compiled one: real
print((script - library).days)
print(pandas.Timestamp(script).year == script.year)
"""


def test_pandas_loads_and_works_under_the_skewed_clock():
    run = subprocess.run(
        [sys.executable, "-W", "error", "-c", SKEWED_THEN_PANDAS],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr  # it failed its import ("datetime size changed")
    days, same_year = run.stdout.split()
    assert int(days) >= 399 and same_year == "True", run.stdout
