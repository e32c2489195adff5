# base: blank
# expect: needs review, 0 points
# 24 children, each in a session of its own, spinning for a minute (to slow the notebook graded
# beside this one).
import os
import time

for _ in range(24):
    if os.fork() == 0:
        os.setsid()
        end = time.time() + 60
        while time.time() < end:
            pass
        os._exit(0)
