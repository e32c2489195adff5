"""Train the reference AE and VAE on MNIST and write the lab's figures and a metrics JSON."""

from __future__ import annotations

import json
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display needed

import matplotlib.pyplot as plt
import torch

from aelab import latent, plots
from aelab.data import make_splits
from aelab.evaluation import pca_reconstruction_mse, reconstruction_mse, stack_images
from aelab.models import VAE, AutoEncoder
from aelab.training import autoencoder_loss, fit, vae_batch_loss

INTERPOLATION_PAIRS = ((3, 6), (2, 5), (1, 7))


def _save(fig: plt.Figure, path: Path) -> str:
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)
    return path.name


def run_reference(
    out: Path,
    ae_epochs: int = 100,
    vae_epochs: int = 100,
    seed: int = 0,
    device: str = "auto",
    progress: bool = True,
) -> dict:
    """Train both models, score them against PCA, save figures into ``out``; return the metrics."""
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    splits = make_splits()
    started = time.perf_counter()
    ae_fit = fit(
        AutoEncoder(2),
        autoencoder_loss,
        splits.train_loader,
        splits.val_loader,
        ae_epochs,
        device=device,
        progress=progress,
    )
    vae_fit = fit(
        VAE(2),
        vae_batch_loss,
        splits.train_loader,
        splits.val_loader,
        vae_epochs,
        device=device,
        progress=progress,
    )
    ae, vae = ae_fit.model.cpu().eval(), vae_fit.model.cpu().eval()

    figures = []
    grid = latent.decode_images(ae.decoder, latent.latent_grid())
    figures.append(_save(plots.plot_latent_grid(grid), out / "ae_latent_grid.png"))
    for first, second in INTERPOLATION_PAIRS:
        images = latent.interpolate_digits(
            first, second, splits.test_loader, ae.encoder, ae.decoder, generator=generator
        )
        fig = plots.plot_interpolation(images, f"Autoencoder: {first} to {second}")
        figures.append(_save(fig, out / f"ae_interpolation_{first}_{second}.png"))
    prior = latent.sample_prior(250, generator=generator)
    fig = plots.plot_prior_samples(prior, latent.decode_images(vae.decoder, prior))
    figures.append(_save(fig, out / "vae_prior_samples.png"))
    test_images = stack_images(splits.test_loader)
    order = torch.randperm(len(test_images), generator=generator)[:500]
    with torch.no_grad():
        mu, logvar = vae.encode(test_images[order])
    posterior = latent.sample_posterior(mu, logvar, generator=generator)
    fig = plots.plot_prior_vs_posterior(latent.sample_prior(500, generator=generator), posterior)
    figures.append(_save(fig, out / "vae_prior_vs_posterior.png"))

    train_images = stack_images(splits.train_loader)
    metrics = {
        "seed": seed,
        "device": str(next(ae_fit.model.parameters()).device),
        "test_mse": {
            "autoencoder": reconstruction_mse(ae, splits.test_loader),
            "vae_posterior_mean": reconstruction_mse(vae, splits.test_loader),
            "pca_2_components": pca_reconstruction_mse(train_images, test_images, 2),
        },
        "autoencoder": _history(ae_fit),
        "vae": _history(vae_fit),
        "total_seconds": time.perf_counter() - started,
        "figures": figures,
    }
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n")
    return metrics


def _history(result) -> dict:
    return {
        "epochs_run": len(result.val_losses),
        "best_epoch": result.best_epoch + 1,
        "val_losses": result.val_losses,
        "seconds_per_epoch": sum(result.epoch_seconds) / max(len(result.epoch_seconds), 1),
    }
