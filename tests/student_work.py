"""Realistic student notebooks made from the built assignment, for grading tests and benchmarks."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat
from lab_env import NOTEBOOK_NAME

from aelab.build import without_reference_answers


@dataclass(frozen=True)
class Mistake:
    """A realistic wrong answer: in the cell holding ``marker``, ``right`` becomes ``wrong``.

    ``also_right``/``also_wrong``: a second replacement in the same cell, for a mistake that
    moves a line.
    """

    question: str
    marker: str
    right: str
    wrong: str
    points_lost: float  # what the hidden tests take off for it, and no more
    also_right: str = ""
    also_wrong: str = ""

    def apply(self, source: str) -> str:
        """``source`` (the cell holding ``marker``) with this mistake made."""
        assert self.right in source, (self.question, self.right)
        source = source.replace(self.right, self.wrong)
        if self.also_right:
            assert self.also_right in source, (self.question, self.also_right)
            source = source.replace(self.also_right, self.also_wrong, 1)
        return source

    def matches(self, source: str) -> bool:
        """Whether ``source`` is the cell this mistake changes."""
        return self.marker in source and self.right in source


# Several per question; the n-th mistakes of all questions make up round n, graded together.
MISTAKES = [
    Mistake("q1", "train_loader = ", "shuffle=True)", "shuffle=False)", 1),
    Mistake(
        "q1",
        "train_loader = ",
        "random_split(full_trainset, [train_size, len(full_trainset) - train_size])",
        "(torch.utils.data.Subset(full_trainset, range(train_size)), "
        "torch.utils.data.Subset(full_trainset, range(train_size, len(full_trainset))))",
        1,
    ),
    Mistake(
        "q1", "train_loader = ", "root=DATA_ROOT, train=False", "root=DATA_ROOT, train=True", 1.5
    ),
    # a data-setup slip no later problem notices: the test set served in a new order each time
    Mistake(
        "q1",
        "train_loader = ",
        "test_loader = DataLoader(test_dataset, batch_size=512, shuffle=False)",
        "test_loader = DataLoader(test_dataset, batch_size=512, shuffle=True)",
        1,
    ),
    Mistake(
        "q2",
        "class AutoEncoder(",
        "nn.Linear(64, latent_dim),\n",
        "nn.Linear(64, latent_dim),\n            nn.ReLU(),\n",
        1,
    ),
    # the encoder never learns: its output is detached, yet the decoder's loss still falls
    Mistake(
        "q2",
        "class AutoEncoder(",
        "latent = self.encoder(x)",
        "latent = self.encoder(x).detach()",
        1,
    ),
    # a decoder that does not mirror the encoder: one layer straight back to 784 pixels
    Mistake(
        "q2",
        "class AutoEncoder(",
        "nn.Linear(latent_dim, 64),\n            nn.ReLU(),\n            nn.Linear(64, 128),\n"
        "            nn.ReLU(),\n            nn.Linear(128, 256),\n            nn.ReLU(),\n"
        "            nn.Linear(256, 28 * 28),",
        "nn.Linear(latent_dim, 28 * 28),",
        0.5,
    ),
    # a decoder of Linear layers only: without its ReLUs it is one linear map, then the Sigmoid
    Mistake(
        "q2",
        "class AutoEncoder(",
        "nn.Linear(latent_dim, 64),\n            nn.ReLU(),\n            nn.Linear(64, 128),\n"
        "            nn.ReLU(),\n            nn.Linear(128, 256),\n            nn.ReLU(),\n",
        "nn.Linear(latent_dim, 64),\n            nn.Linear(64, 128),\n"
        "            nn.Linear(128, 256),\n",
        0.5,
    ),
    # a ReLU before the final Sigmoid: every pixel of every reconstruction is at least 0.5
    Mistake(
        "q2",
        "class AutoEncoder(",
        "nn.Linear(256, 28 * 28),\n            nn.Sigmoid(),",
        "nn.Linear(256, 28 * 28),\n            nn.ReLU(),\n            nn.Sigmoid(),",
        0.5,
    ),
    # the course's original loop: the best weights are never restored
    Mistake("q3", "def train_autoencoder(", "    model.load_state_dict(best_state)\n", "", 1.5),
    Mistake("q3", "def train_autoencoder(", "lr=0.001", "lr=0.01", 1),
    Mistake(
        "q3",
        "def train_autoencoder(",
        "copy.deepcopy(model.state_dict())\n            patience_counter = 0\n",
        "copy.deepcopy(model.state_dict())\n",
        1.5,
    ),
    # an equal validation loss counted as an improvement
    Mistake(
        "q3", "def train_autoencoder(", "if val_loss < best_loss:", "if val_loss <= best_loss:", 1.5
    ),
    Mistake("q3", "def train_autoencoder(", "nn.MSELoss()", "nn.BCELoss()", 1.5),
    # gradients pile up across batches
    Mistake("q3", "def train_autoencoder(", "            optimizer.zero_grad()\n", "", 1),
    # Adam's state does not persist: a new optimiser every epoch
    Mistake(
        "q3",
        "def train_autoencoder(",
        "    optimizer = optim.Adam(model.parameters(), lr=0.001)\n",
        "",
        1,
        "    for epoch in range(num_epochs):\n",
        "    for epoch in range(num_epochs):\n"
        "        optimizer = optim.Adam(model.parameters(), lr=0.001)\n",
    ),
    # model.train() once before the loop: after the first validation, training runs in eval mode
    Mistake(
        "q3",
        "def train_autoencoder(",
        "    for epoch in range(num_epochs):\n        model.train()\n",
        "    model.train()\n    for epoch in range(num_epochs):\n",
        0.5,
    ),
    Mistake("q5", "latent_grid = ", 'indexing="ij"', 'indexing="xy"', 0.5),
    # decoded images left flat: the given cell that tiles them fails
    Mistake(
        "q5",
        "latent_grid = ",
        ".view(NUM_IMAGES, 28, 28)",
        "",
        3,
    ),
    Mistake(
        "q6",
        "def extrapolate_digits(",
        "torch.linspace(0, 1, num_images)",
        "(torch.arange(num_images) / num_images)",
        3,
    ),
    # interpolating the images, then encoding, instead of interpolating the codes
    Mistake(
        "q6",
        "def extrapolate_digits(",
        "start = encoder(get_test_digit(dataloader, digit1).view(1, -1))\n"
        "        end = encoder(get_test_digit(dataloader, digit2).view(1, -1))\n"
        "        weights = torch.linspace(0, 1, num_images).view(-1, 1)\n"
        "        path = (1 - weights) * start + weights * end",
        "start = get_test_digit(dataloader, digit1).view(1, -1)\n"
        "        end = get_test_digit(dataloader, digit2).view(1, -1)\n"
        "        weights = torch.linspace(0, 1, num_images).view(-1, 1)\n"
        "        path = encoder((1 - weights) * start + weights * end)",
        3,
    ),
    # the image at index digit, not an image *of* that digit
    Mistake(
        "q6",
        "def extrapolate_digits(",
        "start = encoder(get_test_digit(dataloader, digit1).view(1, -1))\n"
        "        end = encoder(get_test_digit(dataloader, digit2).view(1, -1))",
        "start = encoder(dataloader.dataset[digit1][0].view(1, -1))\n"
        "        end = encoder(dataloader.dataset[digit2][0].view(1, -1))",
        3,
    ),
    Mistake("q8", "class VAE(", "torch.exp(0.5 * logvar)", "torch.exp(logvar)", 1.5),
    Mistake("q8", "class VAE(", "torch.randn_like(std)", "torch.rand_like(std)", 1.5),
    # the encoder and both heads never learn from the reconstruction: the sample is detached
    Mistake(
        "q8",
        "class VAE(",
        "return self.decode(self.reparameterize(mu, logvar)), mu, logvar",
        "return self.decode(self.reparameterize(mu, logvar).detach()), mu, logvar",
        1,
    ),
    # the encoder body's "Linear + ReLU" pattern carried on to the mu head: mu can never be negative
    Mistake(
        "q8",
        "class VAE(",
        "self.mu = nn.Linear(256, latent_dim)",
        "self.mu = nn.Sequential(nn.Linear(256, latent_dim), nn.ReLU())",
        1,
    ),
    # the VAE's decoder with a ReLU before its Sigmoid: no pixel can be darker than 0.5
    Mistake(
        "q8",
        "class VAE(",
        "nn.Linear(512, 28 * 28),\n            nn.Sigmoid(),",
        "nn.Linear(512, 28 * 28),\n            nn.ReLU(),\n            nn.Sigmoid(),",
        1,
    ),
    Mistake("q9", "def vae_loss(", "kl = -0.5 * torch.sum", "kl = 0.5 * torch.sum", 1.5),
    Mistake(
        "q9", "def vae_loss(", "optim.Adam(model.parameters()", "optim.SGD(model.parameters()", 1
    ),
    Mistake("q9", "def vae_loss(", "            optimizer.zero_grad()\n", "", 1),
    Mistake(
        "q9",
        "def vae_loss(",
        "    optimizer = optim.Adam(model.parameters(), lr=0.001)\n",
        "",
        1,
        "    for epoch in range(num_epochs):\n",
        "    for epoch in range(num_epochs):\n"
        "        optimizer = optim.Adam(model.parameters(), lr=0.001)\n",
    ),
    # train_vae forgets what Problem 9 asks: the best weights restored, as in train_autoencoder
    Mistake("q9", "def vae_loss(", "    model.load_state_dict(best_state)\n", "", 1),
    # the printed validation loss divided by the batch size twice (about 1/512 of the true one)
    Mistake(
        "q9",
        "def vae_loss(",
        "total += vae_loss(reconstruction, images, mu, logvar).item()",
        "total += vae_loss(reconstruction, images, mu, logvar).item() / len(images)",
        0.5,
    ),
    # validation in training mode (model.eval() forgotten)
    Mistake("q9", "def vae_loss(", "        model.eval()\n", "", 0.5),
    Mistake(
        "q10", "latent_samples = ", "torch.randn(NUM_IMAGES, 2)", "torch.rand(NUM_IMAGES, 2)", 1.5
    ),
    Mistake(
        "q10",
        "latent_samples = ",
        "trained_vae.decode(latent_samples)",
        "trained_autoencoder.decoder(latent_samples)",
        1,
    ),
    # decoded with gradients: the given plot cell's .numpy() fails
    Mistake(
        "q10",
        "latent_samples = ",
        "with torch.no_grad():\n    reconstruction = trained_vae.decode(latent_samples)",
        "reconstruction = trained_vae.decode(latent_samples)",
        3,
    ),
    Mistake(
        "q11",
        "approx_posterior = ",
        "torch.exp(0.5 * latent_logvar)",
        "torch.exp(latent_logvar)",
        1.5,
    ),
    Mistake(
        "q11",
        "approx_posterior = ",
        "latent_mu + torch.exp(0.5 * latent_logvar) * torch.randn_like(latent_mu)",
        "latent_mu.clone()",
        1.5,
    ),
]


def mistake_round(number: int) -> list[Mistake]:
    """The ``number``-th mistake of every question that has that many (round 0: the first ones)."""
    by_question: dict[str, list[Mistake]] = {}
    for mistake in MISTAKES:
        by_question.setdefault(mistake.question, []).append(mistake)
    return [found[number] for found in by_question.values() if len(found) > number]


def with_mistakes(built: Path, questions: set[str], number: int = 0) -> nbformat.NotebookNode:
    """The solution with round ``number``'s mistakes of ``questions`` put in."""
    notebook = solution(built)
    for mistake in mistake_round(number):
        if mistake.question not in questions:
            continue
        (cell,) = [c for c in notebook.cells if mistake.matches(c.source)]
        cell.source = mistake.apply(cell.source)
    return notebook


def solution(built: Path) -> nbformat.NotebookNode:
    """The reference solution's code as a student would hand it in: no reference answers."""
    notebook = nbformat.read(built / "solution" / NOTEBOOK_NAME, as_version=4)
    return without_reference_answers(notebook)


def blank(built: Path) -> nbformat.NotebookNode:
    """The untouched student notebook."""
    return nbformat.read(built / "student" / NOTEBOOK_NAME, as_version=4)


def with_team(
    notebook: nbformat.NotebookNode, team: list[tuple[str, str]]
) -> nbformat.NotebookNode:
    """``notebook`` with its TEAM cell filled in."""
    (cell,) = [c for c in notebook.cells if c.cell_type == "code" and c.source.startswith("TEAM")]
    cell.source = "TEAM = " + json.dumps([{"name": n, "canvas_id": i} for n, i in team])
    return notebook


def with_extra_cell(notebook: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    """``notebook`` with a code cell added after its setup cell (the first to import torch)."""
    index = next(i for i, c in enumerate(notebook.cells) if "import torch" in c.source)
    cell = nbformat.v4.new_code_cell(source)
    notebook.cells.insert(index + 1, cell)
    return notebook


def write(notebook: nbformat.NotebookNode, path: Path) -> Path:
    """Save ``notebook`` at ``path`` (as ASCII JSON: a lone surrogate is written as its escape)."""
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=True) + "\n", encoding="ascii")
    return path


def ran(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """``notebook`` as saved after running: execution counts, and an output in the setup cell."""
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for count, cell in enumerate(code, start=1):
        cell.execution_count = count
    setup = next(cell for cell in code if "import torch" in cell.source)
    setup.outputs = [nbformat.v4.new_output("stream", text="ran\n")]
    return notebook


def export_zip(notebook: nbformat.NotebookNode, folder: Path, check: bool = True) -> Path:
    """The zip the notebook's Submission cell makes, by running that cell's code in ``folder``
    as the cell right after the last one the saved ``notebook`` ran."""
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / NOTEBOOK_NAME)
    (cell,) = [c for c in notebook.cells if "grader.export(" in c.source]
    last = max(c.get("execution_count") or 0 for c in notebook.cells if c.cell_type == "code")
    shell = f"types.SimpleNamespace(execution_count={last + 1})"
    code = (
        f"import types, otter\nget_ipython = lambda: {shell}\n"
        f"grader = otter.Notebook({NOTEBOOK_NAME!r})\n{cell.source}"
    )
    subprocess.run([sys.executable, "-c", code], cwd=folder, check=check, capture_output=True)
    (zip_path,) = folder.glob("autoencoders_mnist_*.zip")
    return zip_path
