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
# Problem 11's given lines, before each variant's answer in the same cell.
GIVEN_COMPARISON = """NUM_SAMPLES = 500

comparison_loader = DataLoader(test_dataset, batch_size=NUM_SAMPLES, shuffle=True)
test_samples, _ = next(iter(comparison_loader))
test_samples = test_samples.view(NUM_SAMPLES, -1)

with torch.no_grad():
    test_reconstruction, latent_mu, latent_logvar = trained_vae(test_samples)

"""

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
    "approx_posterior = ": GIVEN_COMPARISON
    + """prior = torch.normal(0.0, 1.0, size=(NUM_SAMPLES, 2))
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
    "approx_posterior = ": GIVEN_COMPARISON
    + """prior = torch.randn_like(latent_mu)
approx_posterior = latent_mu + latent_logvar.mul(0.5).exp() * torch.randn_like(latent_mu)
for name, z, colour in (("p(z)", prior, "k"), ("q(z|x)", approx_posterior, "m")):
    plt.plot(z[:, 0], z[:, 1], ".", color=colour, alpha=0.4, label=name)
plt.gca().set_aspect("equal")
plt.legend(title="samples")
plt.title("Prior and approximate posterior")
plt.show()
""",
}

# Problem 1 to 11 in other styles still: torch.distributions, `while` loops, whole-model copies,
# inference_mode, cartesian_prod, a summed loss divided by the batch, looped decoding.
DISTRIBUTIONS = {
    "train_loader = ": """transform = transforms.ToTensor()

mnist_train = datasets.MNIST(root=DATA_ROOT, train=True, download=True, transform=transform)
n_val = len(mnist_train) // 5
train_dataset, val_dataset = random_split(mnist_train, [len(mnist_train) - n_val, n_val])
test_dataset = datasets.MNIST(root=DATA_ROOT, train=False, download=True, transform=transform)
sets = {"train": train_dataset, "val": val_dataset, "test": test_dataset}
loaders = {name: DataLoader(ds, batch_size=512, shuffle=name == "train") for name, ds in sets.items()}
train_loader, val_loader, test_loader = loaders["train"], loaders["val"], loaders["test"]
""",
    "class AutoEncoder(": """from collections import OrderedDict


class AutoEncoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(OrderedDict([
            ("fc1", nn.Linear(784, 256)), ("act1", nn.ReLU()),
            ("fc2", nn.Linear(256, 128)), ("act2", nn.ReLU()),
            ("fc3", nn.Linear(128, 64)), ("act3", nn.ReLU()),
            ("code", nn.Linear(64, latent_dim)),
        ]))
        self.decoder = nn.Sequential(OrderedDict([
            ("fc1", nn.Linear(latent_dim, 64)), ("act1", nn.ReLU()),
            ("fc2", nn.Linear(64, 128)), ("act2", nn.ReLU()),
            ("fc3", nn.Linear(128, 256)), ("act3", nn.ReLU()),
            ("pixels", nn.Linear(256, 784)), ("squash", nn.Sigmoid()),
        ]))

    def forward(self, x):
        z = self.encoder(x)
        return self.decoder(z), z
""",
    "def train_autoencoder(": """import copy


"""
    + GIVEN_TRAIN_AE
    + """
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    best_model, best_val, stale, epoch = copy.deepcopy(model), float("inf"), 0, 0
    while epoch < num_epochs:
        epoch += 1
        model.train()
        for x, _ in train_loader:
            x = x.reshape(x.size(0), -1)
            # summed over pixels, averaged over images: Adam takes the same steps as with the mean
            loss = F.mse_loss(model(x)[0], x, reduction="sum") / x.size(0)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        squared, pixels = 0.0, 0
        with torch.inference_mode():
            for x, _ in val_loader:
                x = x.reshape(x.size(0), -1)
                squared += F.mse_loss(model(x)[0], x, reduction="sum").item()
                pixels += x.numel()
        val_mse = squared / pixels
        if val_mse < best_val:
            best_val, best_model, stale = val_mse, copy.deepcopy(model), 0
        else:
            stale += 1
        print(f"[{epoch:3d}] validation MSE = {val_mse:.6f}, epochs without improvement: {stale}")
        if stale == early_stopping_patience:
            break
    model.load_state_dict(best_model.state_dict())
"""
    + GIVEN_RETURN,
    "latent_grid = ": """SIDE_LENGTH = 25
NUM_IMAGES = SIDE_LENGTH**2

latent_x = torch.linspace(-5, 5, SIDE_LENGTH)
latent_y = torch.linspace(-5, 5, SIDE_LENGTH)
latent_grid = torch.cartesian_prod(latent_y.flip(0), latent_x).flip(1)  # (z1, z2) rows
with torch.inference_mode():
    grid_images = trained_autoencoder.decoder(latent_grid).unflatten(1, (28, 28))
""",
    "def extrapolate_digits(": """def extrapolate_digits(digit1, digit2, dataloader, encoder, decoder, num_images=12):
    with torch.inference_mode():
        z1 = encoder(get_test_digit(dataloader, digit1).view(1, -1))
        z2 = encoder(get_test_digit(dataloader, digit2).view(1, -1))
        frames = []
        for t in torch.linspace(0, 1, num_images):
            frames.append(decoder(torch.lerp(z1, z2, t)).view(28, 28))
    images = torch.stack(frames)
    fig, axes = plt.subplots(1, num_images, figsize=(1.2 * num_images, 1.5))
    for ax, image in zip(axes, images):
        ax.imshow(image, cmap="gray")
        ax.set_xticks([])
        ax.set_yticks([])
    plt.show()
    return images
""",
    "class VAE(": """class VAE(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU())
        self.mu = nn.Linear(256, latent_dim)
        self.logvar = nn.Linear(256, latent_dim)
        self.decoder = nn.Sequential(
            nn.Linear(latent_dim, 256), nn.ReLU(),
            nn.Linear(256, 512), nn.ReLU(),
            nn.Linear(512, 784), nn.Sigmoid(),
        )

    def encode(self, x):
        shared = self.encoder(x)
        return self.mu(shared), self.logvar(shared)

    def reparameterize(self, mu, logvar):
        return torch.distributions.Normal(mu, torch.exp(0.5 * logvar)).rsample()

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        mu, logvar = self.encode(x)
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar
""",
    "def vae_loss(": """from torch.distributions import Normal, kl_divergence


def vae_loss(reconstruction, x, mu, logvar):
    q = Normal(mu, torch.exp(0.5 * logvar))
    p = Normal(torch.zeros_like(mu), torch.ones_like(mu))
    return F.mse_loss(reconstruction, x, reduction="sum") + kl_divergence(q, p).sum()


"""
    + GIVEN_TRAIN_VAE
    + """
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    best_model, best_val, stale, epoch = copy.deepcopy(model), float("inf"), 0, 0
    while epoch < num_epochs:
        epoch += 1
        model.train()
        for x, _ in train_loader:
            x = x.reshape(x.size(0), -1)
            reconstruction, mu, logvar = model(x)
            loss = vae_loss(reconstruction, x, mu, logvar) / x.size(0)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        summed, images = 0.0, 0
        with torch.inference_mode():
            for x, _ in val_loader:
                x = x.reshape(x.size(0), -1)
                reconstruction, mu, logvar = model(x)
                summed += vae_loss(reconstruction, x, mu, logvar).item()
                images += x.size(0)
        val_loss = summed / images
        if val_loss < best_val:
            best_val, best_model, stale = val_loss, copy.deepcopy(model), 0
        else:
            stale += 1
        print(f"[{epoch:3d}] validation loss per image = {val_loss:.4f}, epochs without improvement: {stale}")
        if stale == early_stopping_patience:
            break
    model.load_state_dict(best_model.state_dict())
"""
    + GIVEN_RETURN,
    "latent_samples = ": """NUM_IMAGES = 250

latent_samples = torch.distributions.Normal(0.0, 1.0).sample((NUM_IMAGES, 2))
with torch.inference_mode():
    reconstruction = trained_vae.decode(latent_samples).reshape(NUM_IMAGES, 28, 28)
""",
    "approx_posterior = ": GIVEN_COMPARISON
    + """standard = torch.distributions.MultivariateNormal(torch.zeros(2), torch.eye(2))
prior = standard.sample((NUM_SAMPLES,))
q = torch.distributions.Normal(latent_mu, torch.exp(0.5 * latent_logvar))
approx_posterior = q.rsample()
plt.figure(figsize=(7, 7))
plt.scatter(prior[:, 0], prior[:, 1], color="red", s=6, label="prior")
plt.scatter(approx_posterior[:, 0], approx_posterior[:, 1], color="blue", s=6, label="q(z|x)")
plt.legend()
plt.show()
""",
}

# A split by hand (random indices and Subset), a helper that builds both halves of the
# autoencoder, the PyTorch example's VAE of named layers and F.relu, detach and a decorator.
SUBSETS = {
    "train_loader = ": """transform = transforms.ToTensor()

full = datasets.MNIST(root=DATA_ROOT, train=True, download=True, transform=transform)
order = torch.randperm(len(full))
cut = int(0.8 * len(full))
train_dataset = torch.utils.data.Subset(full, order[:cut].tolist())
val_dataset = torch.utils.data.Subset(full, order[cut:].tolist())
test_dataset = datasets.MNIST(root=DATA_ROOT, train=False, download=True, transform=transform)
train_loader = DataLoader(train_dataset, batch_size=512, shuffle=True)
val_loader = DataLoader(val_dataset, batch_size=512)
test_loader = DataLoader(test_dataset, batch_size=512)
""",
    "class AutoEncoder(": """def mlp(sizes, last_activation=None):
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes, sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    if last_activation is not None:
        layers.append(last_activation)
    return nn.Sequential(*layers)


class AutoEncoder(nn.Module):
    HIDDEN = [512, 128, 32]

    def __init__(self, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim
        sizes = [784] + self.HIDDEN + [latent_dim]
        self.encoder = mlp(sizes)
        self.decoder = mlp(sizes[::-1], nn.Sigmoid())

    def forward(self, x):
        latent = self.encoder(x)
        reconstruction = self.decoder(latent)
        return reconstruction, latent
""",
    "def train_autoencoder(": GIVEN_TRAIN_AE
    + """
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(params=model.parameters(), lr=1e-3)
    best, best_state, patience = float("inf"), None, 0
    for epoch in range(num_epochs):
        model.train(True)
        for batch, _ in train_loader:
            batch = batch.flatten(1)
            optimizer.zero_grad()
            loss = criterion(model(batch)[0], batch)
            loss.backward()
            optimizer.step()
        model.train(False)
        with torch.no_grad():
            losses = [criterion(model(b.flatten(1))[0], b.flatten(1)).item() * len(b) for b, _ in val_loader]
        val_loss = sum(losses) / len(val_loader.dataset)
        if val_loss < best:
            best, patience = val_loss, 0
            best_state = {name: tensor.clone() for name, tensor in model.state_dict().items()}
        else:
            patience += 1
        print(f"Epoch {epoch + 1} | val MSE {val_loss:.4f} | patience {patience}/{early_stopping_patience}")
        if patience >= early_stopping_patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
"""
    + GIVEN_RETURN,
    "latent_grid = ": """SIDE_LENGTH = 25
NUM_IMAGES = SIDE_LENGTH**2

latent_x = torch.linspace(-5, 5, SIDE_LENGTH)
latent_y = torch.linspace(-5, 5, SIDE_LENGTH)
gx, gy = torch.meshgrid(latent_x, latent_y.flip(0), indexing="xy")
latent_grid = torch.stack([gx, gy], dim=-1).reshape(-1, 2)
grid_images = trained_autoencoder.decoder(latent_grid).detach().reshape(NUM_IMAGES, 28, 28)
""",
    "def extrapolate_digits(": """def extrapolate_digits(digit1, digit2, dataloader, encoder, decoder, num_images=12):
    pair = torch.cat([get_test_digit(dataloader, d).view(1, 784) for d in (digit1, digit2)])
    with torch.no_grad():
        z = encoder(pair)
        t = torch.linspace(0, 1, num_images)[:, None]
        images = decoder(z[0] + t * (z[1] - z[0])).view(-1, 28, 28)
    plt.figure(figsize=(num_images, 1.5))
    for i in range(num_images):
        plt.subplot(1, num_images, i + 1)
        plt.imshow(images[i], cmap="gray")
        plt.axis("off")
    plt.show()
    return images
""",
    "class VAE(": """class VAE(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(mlp([784, 400, 200]), nn.ReLU())
        self.mu = nn.Linear(200, latent_dim)
        self.logvar = nn.Linear(200, latent_dim)
        self.decoder = mlp([latent_dim, 200, 400, 784], nn.Sigmoid())

    def encode(self, x):
        h = self.encoder(x)
        return self.mu(h), self.logvar(h)

    def reparameterize(self, mu, logvar):
        std = logvar.mul(0.5).exp_()
        eps = torch.randn_like(std)
        return eps.mul(std).add_(mu)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar
""",
    "def vae_loss(": """def vae_loss(reconstruction, x, mu, logvar):
    squared = torch.sum((x - reconstruction) ** 2)
    kl = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return squared + kl


"""
    + GIVEN_TRAIN_VAE
    + """
    optimizer = torch.optim.Adam(params=model.parameters(), lr=1e-3)
    best, best_state, patience = float("inf"), None, 0
    for epoch in range(num_epochs):
        model.train(True)
        for batch, _ in train_loader:
            batch = batch.flatten(1)
            optimizer.zero_grad()
            recon, mu, logvar = model(batch)
            (vae_loss(recon, batch, mu, logvar) / batch.shape[0]).backward()
            optimizer.step()
        model.train(False)
        total = 0.0
        with torch.no_grad():
            for batch, _ in val_loader:
                batch = batch.flatten(1)
                recon, mu, logvar = model(batch)
                total += vae_loss(recon, batch, mu, logvar).item()
        val_loss = total / len(val_loader.dataset)
        if val_loss < best:
            best, patience = val_loss, 0
            best_state = {name: tensor.clone() for name, tensor in model.state_dict().items()}
        else:
            patience += 1
        print(f"Epoch {epoch + 1} | val loss {val_loss:.4f} | patience {patience}/{early_stopping_patience}")
        if patience >= early_stopping_patience:
            break
    if best_state is not None:
        model.load_state_dict(best_state)
"""
    + GIVEN_RETURN,
    "latent_samples = ": """NUM_IMAGES = 250


@torch.no_grad()
def decode_all(model, z):
    return model.decode(z).view(len(z), 28, 28)


latent_samples = torch.randn(NUM_IMAGES, 2)
reconstruction = decode_all(trained_vae, latent_samples)
""",
    "approx_posterior = ": GIVEN_COMPARISON
    + """prior = torch.randn(NUM_SAMPLES, 2)
approx_posterior = latent_mu + torch.randn(NUM_SAMPLES, 2) * torch.sqrt(latent_logvar.exp())
plt.scatter(prior[:, 0], prior[:, 1], c="red", alpha=0.4, label="prior N(0, I)")
plt.scatter(approx_posterior[:, 0], approx_posterior[:, 1], c="blue", alpha=0.4, label="approximate posterior")
plt.legend()
plt.show()
""",
}

# Short and dense: positional arguments, a generator of loaders, the walrus, weights kept
# with torch.save in memory, a grid from a list comprehension, codes decoded one at a time.
TERSE = {
    "train_loader = ": """transform = transforms.ToTensor()
train_dataset, val_dataset = random_split(datasets.MNIST(DATA_ROOT, True, transform, download=True), [48000, 12000])
test_dataset = datasets.MNIST(DATA_ROOT, False, transform, download=True)
train_loader, val_loader, test_loader = (
    DataLoader(d, 512, shuffle=s) for d, s in ((train_dataset, True), (val_dataset, False), (test_dataset, False))
)
""",
    "class AutoEncoder(": """class AutoEncoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, latent_dim))
        self.decoder = nn.Sequential(nn.Linear(latent_dim, 16), nn.ReLU(), nn.Linear(16, 64), nn.ReLU(), nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 784), nn.Sigmoid())

    def forward(self, x):
        return self.decoder(z := self.encoder(x)), z
""",
    "def train_autoencoder(": """import io


"""
    + GIVEN_TRAIN_AE
    + """
    opt, loss_fn = optim.Adam(model.parameters(), 0.001), nn.MSELoss()
    best, wait, saved = float("inf"), 0, io.BytesIO()
    torch.save(model.state_dict(), saved)
    for epoch in range(1, num_epochs + 1):
        model.train()
        for x, _ in train_loader:
            opt.zero_grad(); x = x.view(-1, 784); loss_fn(model(x)[0], x).backward(); opt.step()
        model.eval()
        with torch.no_grad():
            val = sum(loss_fn(model(x.view(-1, 784))[0], x.view(-1, 784)).item() * len(x) for x, _ in val_loader) / len(val_loader.dataset)
        wait = 0 if val < best else wait + 1
        if wait == 0:
            best, saved = val, io.BytesIO()
            torch.save(model.state_dict(), saved)
        print(f"epoch={epoch} val_loss={val:.4f} patience={wait}")
        if wait >= early_stopping_patience: break
    saved.seek(0); model.load_state_dict(torch.load(saved))
"""
    + GIVEN_RETURN,
    "latent_grid = ": """SIDE_LENGTH = 25
NUM_IMAGES = SIDE_LENGTH**2

latent_x = latent_y = torch.linspace(-5, 5, SIDE_LENGTH)
latent_grid = torch.tensor([[z1, z2] for z2 in latent_y.flip(0).tolist() for z1 in latent_x.tolist()])
with torch.no_grad():
    grid_images = torch.stack([trained_autoencoder.decoder(z) for z in latent_grid]).view(-1, 28, 28)
""",
    "def extrapolate_digits(": """def extrapolate_digits(digit1, digit2, dataloader, encoder, decoder, num_images=12):
    with torch.no_grad():
        z1, z2 = (encoder(get_test_digit(dataloader, d).view(1, -1)) for d in (digit1, digit2))
        images = torch.cat([decoder(torch.lerp(z1, z2, float(t))) for t in torch.linspace(0, 1, num_images)]).view(num_images, 28, 28)
    plt.imshow(torch.hstack(list(images)), cmap="gray"); plt.axis("off"); plt.show()
    return images
""",
    "class VAE(": """class VAE(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim
        self.encoder = nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 64), nn.ReLU())
        self.mu, self.logvar = nn.Linear(64, latent_dim), nn.Linear(64, latent_dim)
        self.decoder = nn.Sequential(nn.Linear(latent_dim, 64), nn.ReLU(), nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 784), nn.Sigmoid())

    def encode(self, x):
        return self.mu(h := self.encoder(x)), self.logvar(h)

    def reparameterize(self, mu, logvar):
        return mu + torch.randn_like(mu) * torch.exp(logvar / 2)

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        return self.decode(self.reparameterize(*(stats := self.encode(x)))), *stats
""",
    "def vae_loss(": """def vae_loss(reconstruction, x, mu, logvar):
    return ((reconstruction - x) ** 2).sum() + 0.5 * (mu.pow(2) + logvar.exp() - logvar - 1).sum()


"""
    + GIVEN_TRAIN_VAE
    + """
    opt = optim.Adam(model.parameters(), 0.001)
    best, wait, saved = float("inf"), 0, io.BytesIO()
    torch.save(model.state_dict(), saved)
    for epoch in range(1, num_epochs + 1):
        model.train()
        for x, _ in train_loader:
            x = x.view(-1, 784); opt.zero_grad()
            r, m, lv = model(x); (vae_loss(r, x, m, lv) / len(x)).backward(); opt.step()
        model.eval()
        with torch.no_grad():
            val = sum(vae_loss(*(lambda r, m, lv: (r, x.view(-1, 784), m, lv))(*model(x.view(-1, 784)))).item() for x, _ in val_loader) / len(val_loader.dataset)
        wait = 0 if val < best else wait + 1
        if wait == 0:
            best, saved = val, io.BytesIO()
            torch.save(model.state_dict(), saved)
        print(f"epoch={epoch} val_loss={val:.4f} patience={wait}")
        if wait >= early_stopping_patience: break
    saved.seek(0); model.load_state_dict(torch.load(saved))
"""
    + GIVEN_RETURN,
    "latent_samples = ": """NUM_IMAGES = 250

latent_samples = torch.randn(NUM_IMAGES, 2)
reconstruction = trained_vae.decode(latent_samples).detach().reshape(NUM_IMAGES, 28, 28)
""",
    "approx_posterior = ": GIVEN_COMPARISON
    + """prior, approx_posterior = torch.randn(NUM_SAMPLES, 2), latent_mu + (0.5 * latent_logvar).exp() * torch.randn_like(latent_mu)
plt.scatter(*prior.T, c="r", s=5, label="prior"); plt.scatter(*approx_posterior.T, c="b", s=5, label="posterior"); plt.legend(); plt.show()
""",
}

# One helper runs an epoch for training and for validation (torch.set_grad_enabled), a decoder
# mirrored from the encoder's own layers, weights from arange, decoding in chunks.
EPOCHS = {
    "train_loader = ": """import functools

transform = transforms.ToTensor()
full_train = datasets.MNIST(root=DATA_ROOT, train=True, download=True, transform=transform)
n_train = round(0.8 * len(full_train))
train_dataset, val_dataset = random_split(full_train, [n_train, len(full_train) - n_train])
test_dataset = datasets.MNIST(root=DATA_ROOT, train=False, download=True, transform=transform)
make_loader = functools.partial(DataLoader, batch_size=512)
train_loader = make_loader(train_dataset, shuffle=True)
val_loader = make_loader(val_dataset)
test_loader = make_loader(test_dataset)
""",
    "class AutoEncoder(": """class AutoEncoder(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim
        widths = [784, 300, 100, 30, latent_dim]
        layers = []
        for a, b in zip(widths, widths[1:]):
            layers += [nn.Linear(a, b), nn.ReLU()]
        self.encoder = nn.Sequential(*layers[:-1])
        layers = []
        for layer in reversed([m for m in self.encoder if isinstance(m, nn.Linear)]):
            layers += [nn.Linear(layer.out_features, layer.in_features), nn.ReLU()]
        layers[-1] = nn.Sigmoid()
        self.decoder = nn.Sequential(*layers)

    def forward(self, x):
        h = self.encoder(x)
        out = self.decoder(h)
        return out, h
""",
    "def train_autoencoder(": """import copy


"""
    + GIVEN_TRAIN_AE
    + """
    loss_fn = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=0.001)

    def run_epoch(loader, training):
        model.train(training)
        total, n = 0.0, 0
        with torch.set_grad_enabled(training):
            for images, _ in loader:
                images = images.view(len(images), -1)
                loss = loss_fn(model(images)[0], images)
                if training:
                    optimizer.zero_grad()
                    loss.backward()
                    optimizer.step()
                total += loss.item() * len(images)
                n += len(images)
        return total / n

    best_val, best_state, since_best = float("inf"), copy.deepcopy(model.state_dict()), 0
    for epoch in range(1, num_epochs + 1):
        train_loss = run_epoch(train_loader, True)
        val_loss = run_epoch(val_loader, False)
        if val_loss < best_val:
            best_val, best_state, since_best = val_loss, copy.deepcopy(model.state_dict()), 0
        else:
            since_best += 1
        print(f"epoch {epoch}: train {train_loss:.4f}, validation {val_loss:.4f}, patience {since_best}")
        if since_best >= early_stopping_patience:
            break
    model.load_state_dict(best_state)
"""
    + GIVEN_RETURN,
    "latent_grid = ": """SIDE_LENGTH = 25
NUM_IMAGES = SIDE_LENGTH**2

latent_x = torch.linspace(-5, 5, SIDE_LENGTH)
latent_y = torch.linspace(-5, 5, SIDE_LENGTH)
rows, cols = torch.meshgrid(torch.flip(latent_y, dims=[0]), latent_x, indexing="ij")
latent_grid = torch.column_stack([cols.reshape(-1), rows.reshape(-1)])
trained_autoencoder.eval()
with torch.no_grad():
    decoded = trained_autoencoder.decoder(latent_grid)
grid_images = decoded.reshape(SIDE_LENGTH * SIDE_LENGTH, 28, 28)
""",
    "def extrapolate_digits(": """def extrapolate_digits(digit1, digit2, dataloader, encoder, decoder, num_images=12):
    first = get_test_digit(dataloader, digit1).reshape(1, -1)
    second = get_test_digit(dataloader, digit2).reshape(1, -1)
    weights = (torch.arange(num_images) / (num_images - 1)).unsqueeze(1)
    with torch.no_grad():
        z1, z2 = encoder(first), encoder(second)
        images = decoder((1 - weights) * z1 + weights * z2).reshape(num_images, 28, 28)
    fig, axes = plt.subplots(1, num_images, figsize=(num_images, 1.4))
    for index, ax in enumerate(axes):
        ax.imshow(images[index].numpy(), cmap="gray")
        ax.axis("off")
    plt.show()
    return images
""",
    "class VAE(": """class VAE(nn.Module):
    def __init__(self, latent_dim):
        super().__init__()
        self.latent_dim = latent_dim

        def dense(n_in, n_out):
            return nn.Sequential(nn.Linear(n_in, n_out), nn.ReLU())

        self.encoder = nn.Sequential(dense(784, 512), dense(512, 256))
        self.mu = nn.Linear(256, latent_dim)
        self.logvar = nn.Linear(256, latent_dim)
        self.decoder = nn.Sequential(dense(latent_dim, 256), dense(256, 512), nn.Linear(512, 784), nn.Sigmoid())

    def encode(self, x):
        features = self.encoder(x)
        return self.mu(features), self.logvar(features)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        eps = torch.normal(torch.zeros_like(std), torch.ones_like(std))
        return mu + eps * std

    def decode(self, z):
        return self.decoder(z)

    def forward(self, x):
        mu, logvar = self.encode(x)
        z = self.reparameterize(mu, logvar)
        return self.decode(z), mu, logvar
""",
    "def vae_loss(": """def vae_loss(reconstruction, x, mu, logvar):
    squared_error = F.mse_loss(reconstruction, x, reduction="none").sum()
    kl = torch.sum(torch.exp(logvar) + mu**2 - 1.0 - logvar) * 0.5
    return squared_error + kl


"""
    + GIVEN_TRAIN_VAE
    + """
    optimizer = optim.Adam(model.parameters(), lr=0.001)

    def run_epoch(loader, training):
        model.train(training)
        total, n = 0.0, 0
        with torch.set_grad_enabled(training):
            for images, _ in loader:
                images = images.view(len(images), -1)
                reconstruction, mu, logvar = model(images)
                loss = vae_loss(reconstruction, images, mu, logvar)
                if training:
                    optimizer.zero_grad()
                    (loss / len(images)).backward()
                    optimizer.step()
                total += loss.item()
                n += len(images)
        return total / n

    best_val, best_state, since_best = float("inf"), copy.deepcopy(model.state_dict()), 0
    for epoch in range(1, num_epochs + 1):
        train_loss = run_epoch(train_loader, True)
        val_loss = run_epoch(val_loader, False)
        if val_loss < best_val:
            best_val, best_state, since_best = val_loss, copy.deepcopy(model.state_dict()), 0
        else:
            since_best += 1
        print(f"epoch {epoch}: train {train_loss:.2f}, validation {val_loss:.4f}, patience {since_best}")
        if since_best >= early_stopping_patience:
            break
    model.load_state_dict(best_state)
"""
    + GIVEN_RETURN,
    "latent_samples = ": """NUM_IMAGES = 250

latent_samples = torch.randn(NUM_IMAGES, 2)
with torch.no_grad():
    chunks = [trained_vae.decode(chunk) for chunk in latent_samples.split(50)]
reconstruction = torch.cat(chunks).view(-1, 28, 28)
""",
    "approx_posterior = ": GIVEN_COMPARISON
    + """prior = torch.randn(NUM_SAMPLES, 2)
eps = torch.randn_like(latent_logvar)
approx_posterior = latent_mu + eps * torch.exp(latent_logvar / 2)
fig, ax = plt.subplots(figsize=(6, 6))
ax.scatter(prior[:, 0], prior[:, 1], color="tab:red", s=8, label="prior samples")
ax.scatter(approx_posterior[:, 0], approx_posterior[:, 1], color="tab:blue", s=8, label="approximate posterior samples")
ax.legend()
plt.show()
""",
}

VARIANTS = {
    "loops": LOOPS,
    "helpers": HELPERS,
    "distributions": DISTRIBUTIONS,
    "subsets": SUBSETS,
    "terse": TERSE,
    "epochs": EPOCHS,
}


def with_answers(solution: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    """A copy of ``solution`` with the code cell holding each marker replaced by its new source."""
    notebook = nbformat.from_dict(solution)
    for marker, source in answers.items():
        (cell,) = [c for c in notebook.cells if c.cell_type == "code" and marker in c.source]
        cell.source = source
    return notebook


def style_sources(sources: list[str], name: str) -> list[str]:
    """The solution's code cells with every answer written the ``name`` way (as sources).

    The same replacement as ``with_answers``, for the fast tests that run the cells in process.
    """
    sources = list(sources)
    for marker, source in VARIANTS[name].items():
        (index,) = [i for i, cell in enumerate(sources) if marker in cell]
        sources[index] = source
    return sources
