# base: blank
# expect: needs review, 0 points
# An empty pipe over the worker's copy of its standard input: it waits for requests forever.
import fcntl
import os

empty, _keep = os.pipe()
for fd in range(3, 64):
    try:
        reading = fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE == os.O_RDONLY
        if reading and os.readlink(f"/proc/self/fd/{fd}").startswith("pipe:") and fd != empty:
            os.dup2(empty, fd)
    except OSError:
        pass
