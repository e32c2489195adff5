# base: blank
# replaces: class VAE(
# expect: needs review, 0 points
# An answer whose errors carry the calling test's source into the feedback ({MARKER}).
import inspect


class VAE(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.encoder = nn.Linear(784, 4)

    def reparameterize(self, mu, logvar):
        caller = inspect.getsource(inspect.currentframe().f_back)
        raise ValueError("{MARKER} " + caller)
