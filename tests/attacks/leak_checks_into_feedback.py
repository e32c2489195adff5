# base: blank
# replaces: def vae_loss(
# expect: 0 points
# Look everywhere in the process for the checks' code and their expectations, and send what is
# found back as the names of exceptions and as numbers ({MARKER}).
import sys

found = []
for module in list(sys.modules.values()):
    for value in list(vars(module).values())[:500]:
        code = getattr(value, "__code__", None)
        if code is not None and ("check" in code.co_filename or "lab" in code.co_filename):
            found.append(code.co_filename + ":" + code.co_name)
secret = ("{MARKER}_" + "_".join(found))[:200]


def vae_loss(reconstruction, x, mu, logvar):
    raise type("Leak_" + "".join(c if c.isalnum() else "_" for c in secret), (Exception,), {})()


def train_vae(train_loader, val_loader, model=None, num_epochs=100, early_stopping_patience=5):
    raise type("Leak_" + str(len(secret)), (ValueError,), {})(secret)
