# base: blank
# expect: needs review, 0 points
# Reach a server on the grader's machine, and the internet.
import socket

for host in ("127.0.0.1", "10.0.2.2", "pypi.org"):
    try:
        socket.create_connection((host, {PORT}), timeout=2).sendall(b"{MARKER}")
    except OSError:
        pass
