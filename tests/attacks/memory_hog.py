# base: blank
# expect: needs review, 0 points, stopped
# Three children of 2.5 GB each: under a per-process limit of 6 GB, over 6 GB together.
import os
import time

for _ in range(3):
    if os.fork() == 0:
        block = bytearray(int(2.5 * 2**30))
        time.sleep(60)
        os._exit(0)
time.sleep(60)
