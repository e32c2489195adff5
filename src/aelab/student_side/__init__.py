"""The student's side of a check: what runs beside the student's code.

``objects`` is how checks see a notebook's objects (plain data back, everything else by
reference), ``wire`` the frames that carry those requests and answers across the sandbox's
pipes, and ``worker`` the program that runs a submitted notebook inside the sandbox and
answers the trusted grader's requests. Nothing here imports the rest of aelab: the sandbox
mounts this folder alone, and the student notebook's public tests carry copies of
``objects``.
"""
