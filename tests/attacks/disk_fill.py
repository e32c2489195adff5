# base: blank
# expect: 0 points (graded or needs review)
# Write 2 GB into the notebook's folder and into the temporary folder.
chunk = b"x" * 2**20
for name in ("big_file.bin", "/tmp/big_file.bin"):
    try:
        with open(name, "wb") as file:
            for _ in range(2048):
                file.write(chunk)
    except OSError:
        pass
