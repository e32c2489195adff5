# base: blank
# expect: needs review, 0 points
# Rewrite the autograder's configuration and point values wherever they might be.
import glob
import json

for path in glob.glob("/**/otter_config.json", recursive=True):
    try:
        with open(path, "w") as file:
            json.dump({"points_possible": 3800}, file)
    except OSError:
        pass
