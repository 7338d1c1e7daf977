"""Stop a server started by a test with everything it started.

trytond-worker runs its tasks in a pool of child processes: a SIGTERM to
the worker alone leaves them running after the test (and after its
database is gone).  Started in a session of its own, the process is the
leader of a group that is stopped as a whole."""
import os
import signal
import subprocess


def stop_group(process, timeout=10):
    "Stop process and every process of its group (start_new_session=True)"
    for sig in [signal.SIGTERM, signal.SIGKILL]:
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            continue
        if sig == signal.SIGTERM:
            # The leader is gone; whatever of its group is left goes too
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        break
