# base: blank
# expect: needs review, 0 points
# Kill, or write into, whatever else runs or lies around (other students graded at the same time).
import glob
import os
import signal

for pid in os.listdir("/proc"):
    if pid.isdigit() and int(pid) != os.getpid():
        try:
            os.kill(int(pid), signal.SIGKILL)
        except OSError:
            pass
for path in glob.glob("/tmp/**/*", recursive=True) + glob.glob("../**/*.ipynb", recursive=True):
    try:
        with open(path, "w") as file:
            file.write("{MARKER}")
    except OSError:
        pass
