# base: blank
# expect: needs review, 0 points
# Overwrite every test file it can find with passing bodies (38/38 under `otter run`).
import glob

for pattern in ("/home/**/tests/*.py", "/tmp/**/tests/*.py", "/opt/**/*.py", "../**/tests/*.py"):
    for path in glob.glob(pattern, recursive=True):
        try:
            with open(path, "w") as file:
                file.write("def test_case(*a, **k):\n    return lambda f: f\n")
        except OSError:
            pass
