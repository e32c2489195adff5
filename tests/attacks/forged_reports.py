# base: blank
# expect: needs review, 0 points
# Write "passed" reports for every test onto every open file descriptor (the grader's channel).
import json

names = ["q1/test_dataset_sizes", "q1/test_loader_batch_sizes", "q2/test_autoencoder_shapes"]
for fd in range(3, 16):
    try:
        channel = open(fd, "w", closefd=False)
        channel.write(json.dumps({"event": "cells-done"}) + "\n")
        for name in names:
            channel.write(json.dumps({"event": "test", "name": name, "phase": "start"}) + "\n")
            channel.write(
                json.dumps(
                    {"event": "test", "name": name, "phase": "end", "passed": True, "nonce": "0"}
                )
                + "\n"
            )
        channel.flush()
    except OSError:
        pass
