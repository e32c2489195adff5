# base: blank
# expect: needs review, 0 points, stopped
# Memory no process maps: files in /dev, and memfds grown with posix_fallocate (7 GB in all).
import os

try:
    with open("/dev/filler", "wb") as file:
        file.write(b"x" * 2**30)
except OSError:
    pass
held = []
for _ in range(16):
    try:
        fd = os.memfd_create("filler")
        os.posix_fallocate(fd, 0, 500 * 2**20)
        held.append(fd)
    except OSError:
        break
