# ruff: noqa: E501 (the cells are notebook code, formatted as a student would)
"""Correct notebooks written independently of the reference solution: the lab's own.

Each style is a dict: the marker of an answer cell of the solution -> that cell's whole new
source (its given lines kept). ``aelab build`` grades the solution with each style's answers
instead of the reference's, and refuses a test that fails any of them (a test that relies on
something the problem never asks for); the similarity report's tests use them too.
Add a style: write a new dict in the styles students really use, and add it to VARIANTS.
"""

from __future__ import annotations

import nbformat

# The training functions' given lines, around each variant's own body.
GIVEN_TRAIN_AE = """def train_autoencoder(
    train_loader,
    val_loader,
    model=None,
    num_epochs=100,
    early_stopping_patience=5,
):
    if model is None:
        model = AutoEncoder(latent_dim=2)
"""
GIVEN_TRAIN_VAE = GIVEN_TRAIN_AE.replace("train_autoencoder", "train_vae").replace(
    "AutoEncoder(", "VAE("
)
GIVEN_RETURN = "\n    return model\n"

# Each variant: the marker of a solution cell -> that cell's whole new source (scaffold kept).
LOOPS = {
    "train_loader = ": """transform = transforms.ToTensor()

mnist_train = datasets.MNIST(DATA_ROOT, train=True, transform=transform, download=True)
n_train = len(mnist_train) * 4 // 5
train_dataset, val_dataset = random_split(mnist_train, [n_train, len(mnist_train) - n_train])
test_dataset = datasets.MNIST(DATA_ROOT, train=False, transform=transform, download=True)
loader_args = dict(batch_size=512)
train_loader = DataLoader(train_dataset, shuffle=True, **loader_args)
val_loader = DataLoader(val_dataset, shuffle=False, **loader_args)
test_loader = DataLoader(test_dataset, shuffle=False, **loader_args)
""",
    "class AutoEncoder(": """class AutoEncoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim
        sizes = [28 * 28, 256, 128, 64]
        enc = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            enc += [nn.Linear(a, b), nn.ReLU()]
        enc.append(nn.Linear(sizes[-1], latent_dim))
        self.encoder = nn.Sequential(*enc)
        dec = [nn.Linear(latent_dim, sizes[-1])]
        for a, b in zip(sizes[:0:-1], sizes[-2::-1]):
            dec += [nn.ReLU(), nn.Linear(a, b)]
        dec.append(nn.Sigmoid())
        self.decoder = nn.Sequential(*dec)

    def forward(self, x):
        z = self.encoder(x)
        x_hat = self.decoder(z)
        return x_hat, z
""",
    "def train_autoencoder(": """import copy


"""
    + GIVEN_TRAIN_AE
    + """
    loss_fn = nn.MSELoss()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    best_val, best_weights, bad_epochs = None, None, 0
    for ep in range(1, num_epochs + 1):
        model.train()
        for x, _ in train_loader:
            x = x.flatten(start_dim=1)
            opt.zero_grad()
            out, _ = model(x)
            batch_loss = loss_fn(out, x)
            batch_loss.backward()
            opt.step()
        model.eval()
        losses, sizes = [], []
        with torch.no_grad():
            for x, _ in val_loader:
                x = x.flatten(start_dim=1)
                out, _ = model(x)
                losses.append(loss_fn(out, x).item() * x.size(0))
                sizes.append(x.size(0))
        val = sum(losses) / sum(sizes)
        if best_val is None or val < best_val:
            best_val = val
            best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
            bad_epochs = 0
        else:
            bad_epochs += 1
        print(f"epoch {ep}: val loss {val:.4f} (no improvement for {bad_epochs})")
        if bad_epochs >= early_stopping_patience:
            print("stopping early")
            break
    if best_weights is not None:
        model.load_state_dict(best_weights)
"""
    + GIVEN_RETURN,
    "latent_grid = ": """SIDE_LENGTH = 25
NUM_IMAGES = SIDE_LENGTH**2

latent_x = torch.linspace(-5, 5, SIDE_LENGTH)
latent_y = torch.linspace(-5, 5, SIDE_LENGTH)
points = []
for z2 in reversed(latent_y):
    for z1 in latent_x:
        points.append([z1.item(), z2.item()])
latent_grid = torch.tensor(points)
trained_autoencoder.eval()
with torch.no_grad():
    grid_images = trained_autoencoder.decoder(latent_grid).reshape(-1, 28, 28)
""",
    "def extrapolate_digits(": """def extrapolate_digits(digit1, digit2, dataloader, encoder, decoder, num_images=12):
    img1 = get_test_digit(dataloader, digit1).flatten().unsqueeze(0)
    img2 = get_test_digit(dataloader, digit2).flatten().unsqueeze(0)
    with torch.no_grad():
        z1, z2 = encoder(img1)[0], encoder(img2)[0]
        codes = torch.stack([z1 + (z2 - z1) * i / (num_images - 1) for i in range(num_images)])
        images = decoder(codes).reshape(num_images, 28, 28)
    fig, axes = plt.subplots(1, num_images, figsize=(num_images, 1.5))
    for axis, image in zip(axes, images):
        axis.imshow(image, cmap="gray")
        axis.axis("off")
    fig.suptitle(f"{digit1} -> {digit2}")
    plt.show()
    return images
""",
    "class VAE(": """class VAE(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim
        self.fc1 = nn.Linear(784, 512)
        self.fc2 = nn.Linear(512, 256)
        self.fc_mu = nn.Linear(256, latent_dim)
        self.fc_logvar = nn.Linear(256, latent_dim)
        self.fc3 = nn.Linear(latent_dim, 256)
        self.fc4 = nn.Linear(256, 512)
        self.fc5 = nn.Linear(512, 784)

    def encode(self, x):
        h = F.relu(self.fc2(F.relu(self.fc1(x))))
        return self.fc_mu(h), self.fc_logvar(h)

    def reparameterize(self, mu, logvar):
        eps = torch.randn_like(mu)
        return mu + eps * (0.5 * logvar).exp()

    def decode(self, z):
        h = F.relu(self.fc4(F.relu(self.fc3(z))))
        return torch.sigmoid(self.fc5(h))

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar
""",
    "def vae_loss(": """def vae_loss(reconstruction, x, mu, logvar):
    sse = ((reconstruction - x) ** 2).sum()
    kld = 0.5 * (mu**2 + logvar.exp() - logvar - 1).sum()
    return sse + kld


"""
    + GIVEN_TRAIN_VAE
    + """
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    best_val, best_weights, bad_epochs = None, None, 0
    for ep in range(1, num_epochs + 1):
        model.train()
        for x, _ in train_loader:
            x = x.flatten(start_dim=1)
            opt.zero_grad()
            out, mu, logvar = model(x)
            batch_loss = vae_loss(out, x, mu, logvar) / x.size(0)
            batch_loss.backward()
            opt.step()
        model.eval()
        summed, seen = 0.0, 0
        with torch.no_grad():
            for x, _ in val_loader:
                x = x.flatten(start_dim=1)
                out, mu, logvar = model(x)
                summed += vae_loss(out, x, mu, logvar).item()
                seen += x.size(0)
        val = summed / seen
        if best_val is None or val < best_val:
            best_val = val
            best_weights = {k: v.detach().clone() for k, v in model.state_dict().items()}
            bad_epochs = 0
        else:
            bad_epochs += 1
        print(f"epoch {ep}: val loss {val:.4f} (no improvement for {bad_epochs})")
        if bad_epochs >= early_stopping_patience:
            break
    if best_weights is not None:
        model.load_state_dict(best_weights)
"""
    + GIVEN_RETURN,
    "latent_samples = ": """NUM_IMAGES = 250

latent_samples = torch.normal(0.0, 1.0, size=(NUM_IMAGES, 2))
trained_vae.eval()
with torch.no_grad():
    reconstruction = trained_vae.decode(latent_samples).reshape(-1, 28, 28)
""",
    "approx_posterior = ": """NUM_SAMPLES = 500

comparison_loader = DataLoader(test_dataset, batch_size=NUM_SAMPLES, shuffle=True)
test_samples, _ = next(iter(comparison_loader))
test_samples = test_samples.view(NUM_SAMPLES, -1)

with torch.no_grad():
    test_reconstruction, latent_mu, latent_logvar = trained_vae(test_samples)

prior = torch.normal(0.0, 1.0, size=(NUM_SAMPLES, 2))
with torch.no_grad():
    approx_posterior = trained_vae.reparameterize(latent_mu, latent_logvar)
plt.figure(figsize=(7, 7))
plt.scatter(*prior.T, s=8, color="tab:orange", label="samples from p(z) = N(0, I)")
plt.scatter(*approx_posterior.T, s=8, color="tab:green", label="samples from q(z|x), test images")
plt.legend()
plt.axis("equal")
plt.xlabel("z1")
plt.ylabel("z2")
plt.show()
""",
}

HELPERS = {
    "train_loader = ": """transform = transforms.ToTensor()

train_full = datasets.MNIST(root=DATA_ROOT, train=True, transform=transform, download=True)
test_dataset = datasets.MNIST(root=DATA_ROOT, train=False, transform=transform, download=True)
split = torch.Generator().manual_seed(SEED)
train_dataset, val_dataset = random_split(train_full, [0.8, 0.2], generator=split)
BATCH = 512
train_loader, val_loader, test_loader = (
    DataLoader(train_dataset, BATCH, shuffle=True),
    DataLoader(val_dataset, BATCH),
    DataLoader(test_dataset, BATCH),
)
""",
    "class AutoEncoder(": """class AutoEncoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim

        def block(n_in, n_out):
            return [nn.Linear(n_in, n_out), nn.ReLU()]

        self.encoder = nn.Sequential(
            *block(784, 256), *block(256, 128), *block(128, 64), nn.Linear(64, latent_dim)
        )
        self.decoder = nn.Sequential(
            *block(latent_dim, 64), *block(64, 128), *block(128, 256),
            nn.Linear(256, 784), nn.Sigmoid(),
        )

    def forward(self, x):
        code = self.encoder(x)
        return self.decoder(code), code
""",
    "def train_autoencoder(": """import copy


"""
    + GIVEN_TRAIN_AE
    + """
    mse = nn.MSELoss()
    adam = optim.Adam(model.parameters(), lr=0.001)

    def flat(batch):
        return batch[0].view(len(batch[0]), -1)

    def validation_loss():
        model.eval()
        with torch.no_grad():
            parts = [(mse(model(flat(b))[0], flat(b)).item(), len(b[0])) for b in val_loader]
        return sum(value * n for value, n in parts) / sum(n for _, n in parts)

    lowest, keep, waited, epoch = float("inf"), copy.deepcopy(model.state_dict()), 0, 0
    while epoch < num_epochs and waited < early_stopping_patience:
        model.train()
        for batch in train_loader:
            adam.zero_grad()
            mse(model(flat(batch))[0], flat(batch)).backward()
            adam.step()
        current = validation_loss()
        epoch += 1
        if current < lowest:
            lowest, keep, waited = current, copy.deepcopy(model.state_dict()), 0
        else:
            waited += 1
        print(f"Epoch {epoch}/{num_epochs} - val MSE {current:.5f} - waited {waited}")
    model.load_state_dict(keep)
"""
    + GIVEN_RETURN,
    "latent_grid = ": """SIDE_LENGTH = 25
NUM_IMAGES = SIDE_LENGTH**2

latent_x = torch.from_numpy(np.linspace(-5, 5, SIDE_LENGTH)).float()
latent_y = latent_x.clone()
zz1, zz2 = np.meshgrid(latent_x.numpy(), latent_y.numpy()[::-1])
latent_grid = torch.from_numpy(np.column_stack([zz1.ravel(), zz2.ravel()])).float()
with torch.no_grad():
    grid_images = trained_autoencoder.decoder(latent_grid).view(SIDE_LENGTH**2, 28, 28)
""",
    "def extrapolate_digits(": """def extrapolate_digits(digit1, digit2, dataloader, encoder, decoder, num_images=12):
    def encode(digit):
        return encoder(get_test_digit(dataloader, digit).reshape(1, 784))

    with torch.no_grad():
        a, b = encode(digit1), encode(digit2)
        t = torch.linspace(0.0, 1.0, num_images).unsqueeze(1)
        decoded = decoder(torch.lerp(a, b, t)).reshape(-1, 28, 28)
    plt.figure(figsize=(num_images, 1.3))
    plt.imshow(torch.cat(list(decoded), dim=1), cmap="gray")
    plt.axis("off")
    plt.show()
    return decoded
""",
    "class VAE(": """class VAE(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim
        self.body = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU())
        self.heads = nn.ModuleDict(
            {"mu": nn.Linear(256, latent_dim), "logvar": nn.Linear(256, latent_dim)}
        )
        layers = [nn.Linear(latent_dim, 256), nn.ReLU(), nn.Linear(256, 512), nn.ReLU()]
        self.generator = nn.Sequential(*layers, nn.Linear(512, 784), nn.Sigmoid())

    def encode(self, x):
        features = self.body(x)
        return self.heads["mu"](features), self.heads["logvar"](features)

    def reparameterize(self, mu, logvar):
        sigma = torch.exp(logvar / 2)
        return torch.addcmul(mu, sigma, torch.randn_like(sigma))

    def decode(self, z):
        return self.generator(z)

    def forward(self, x):
        stats = self.encode(x)
        return (self.decode(self.reparameterize(*stats)), *stats)
""",
    "def vae_loss(": """def vae_loss(reconstruction, x, mu, logvar):
    reconstruction_term = nn.functional.mse_loss(reconstruction, x, reduction="sum")
    kl_term = torch.sum(mu * mu + torch.exp(logvar) - 1 - logvar) / 2
    return reconstruction_term + kl_term


"""
    + GIVEN_TRAIN_VAE
    + """
    adam = optim.Adam(model.parameters(), lr=0.001)

    def flat(batch):
        return batch[0].view(len(batch[0]), -1)

    def validation_loss():
        model.eval()
        with torch.no_grad():
            total, n = 0.0, 0
            for b in val_loader:
                images = flat(b)
                recon, mu, logvar = model(images)
                total, n = total + vae_loss(recon, images, mu, logvar).item(), n + len(images)
        return total / n

    lowest, keep, waited, epoch = float("inf"), copy.deepcopy(model.state_dict()), 0, 0
    while epoch < num_epochs and waited < early_stopping_patience:
        model.train()
        for batch in train_loader:
            images = flat(batch)
            recon, mu, logvar = model(images)
            adam.zero_grad()
            (vae_loss(recon, images, mu, logvar) / len(images)).backward()
            adam.step()
        current = validation_loss()
        epoch += 1
        if current < lowest:
            lowest, keep, waited = current, copy.deepcopy(model.state_dict()), 0
        else:
            waited += 1
        print(f"Epoch {epoch}/{num_epochs} - val loss {current:.3f} - waited {waited}")
    model.load_state_dict(keep)
"""
    + GIVEN_RETURN,
    "latent_samples = ": """NUM_IMAGES = 250

latent_samples = torch.randn(NUM_IMAGES, trained_vae.latent_dim)
reconstruction = trained_vae.decode(latent_samples).detach().view(-1, 28, 28)
""",
    "approx_posterior = ": """NUM_SAMPLES = 500

comparison_loader = DataLoader(test_dataset, batch_size=NUM_SAMPLES, shuffle=True)
test_samples, _ = next(iter(comparison_loader))
test_samples = test_samples.view(NUM_SAMPLES, -1)

with torch.no_grad():
    test_reconstruction, latent_mu, latent_logvar = trained_vae(test_samples)

prior = torch.randn_like(latent_mu)
approx_posterior = latent_mu + latent_logvar.mul(0.5).exp() * torch.randn_like(latent_mu)
for name, z, colour in (("p(z)", prior, "k"), ("q(z|x)", approx_posterior, "m")):
    plt.plot(z[:, 0], z[:, 1], ".", color=colour, alpha=0.4, label=name)
plt.gca().set_aspect("equal")
plt.legend(title="samples")
plt.title("Prior and approximate posterior")
plt.show()
""",
}

VARIANTS = {"loops": LOOPS, "helpers": HELPERS}


def with_answers(solution: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of ``solution`` with the code cell holding each marker replaced by its new source."""
    notebook = nbformat.from_dict(solution)
    for marker, source in answers.items():
        (cell,) = [c for c in notebook.cells if c.cell_type == "code" and marker in c.source]
        cell.source = source
    return notebook
