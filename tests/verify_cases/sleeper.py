"""Says it started, then sleeps: for verify's timeout and signal handling."""

import time

print("started", flush=True)
time.sleep(300)
