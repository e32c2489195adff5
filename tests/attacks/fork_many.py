# base: blank
# expect: needs review, 0 points, stopped
# Start 200 processes that all stay.
import os
import time

for _ in range(200):
    if os.fork() == 0:
        time.sleep(60)
        os._exit(0)
time.sleep(60)
