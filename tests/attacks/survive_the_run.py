# base: blank
# expect: needs review, 0 points
# A child that forks away, starts its own session and lives on after grading ({MARKER}).
import os
import time

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "600", "{MARKER}"])
    os._exit(0)
time.sleep(1)
