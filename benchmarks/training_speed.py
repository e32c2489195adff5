"""Training speed of the reference AE against this machine's matmul floor and the seed's loop.

    python benchmarks/training_speed.py [--epochs 3] [--quality] [--out out/benchmarks]

Per epoch (48,000 training + 12,000 validation images, batch 512) it measures:
- floor: the epoch's matrix products alone (every forward, input-gradient and weight-gradient
  GEMM of every Linear layer, at the real shapes), replayed with torch.mm: no data
  pipeline, no activations, no optimiser. Also FLOPs / peak sgemm FLOP/s.
- seed: the course's original loop (torchvision ToTensor dataset, DataLoader, plain Adam).
- aelab: ``aelab.training.fit`` on ``aelab.data.make_splits`` loaders.
With --quality it also trains the AE to early stopping and the VAE for 5 epochs and reports
test-set reconstruction MSE next to PCA with 2 components fitted on the same training split.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
from torch import nn, optim
from torch.utils.data import DataLoader, random_split
from torchvision import datasets, transforms

from aelab.data import TRAIN_SIZE, VAL_SIZE, default_root, make_splits
from aelab.evaluation import pca_reconstruction_mse, reconstruction_mse, stack_images
from aelab.models import VAE, AutoEncoder
from aelab.training import autoencoder_loss, fit, vae_batch_loss


def epoch_gemms(model: nn.Module, batch: int = 512) -> list[tuple[int, int, int]]:
    """(m, k, n) of every matrix product in one epoch."""
    layers = [(m.in_features, m.out_features) for m in model.modules() if isinstance(m, nn.Linear)]
    gemms = []
    for total, training in ((TRAIN_SIZE, True), (VAL_SIZE, False)):
        sizes = [batch] * (total // batch) + ([total % batch] if total % batch else [])
        for b in sizes:
            for i, (fan_in, fan_out) in enumerate(layers):
                gemms.append((b, fan_in, fan_out))
                if training:
                    gemms.append((fan_out, b, fan_in))  # weight gradient
                    if i > 0:  # the input images need no gradient
                        gemms.append((b, fan_out, fan_in))
    return gemms


def floor_seconds(gemms) -> tuple[float, float, float]:
    """(FLOPs, seconds to replay the GEMMs, peak sgemm FLOP/s on 2048x2048)."""
    flops = sum(2 * m * k * n for m, k, n in gemms)
    operands = {(m, k, n): (torch.rand(m, k), torch.rand(k, n)) for m, k, n in gemms}
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for m, k, n in gemms:
            torch.mm(*operands[(m, k, n)])
        best = min(best, time.perf_counter() - start)
    a, b = torch.rand(2048, 2048), torch.rand(2048, 2048)
    a @ b
    start = time.perf_counter()
    for _ in range(10):
        a @ b
    peak = 10 * 2 * 2048**3 / (time.perf_counter() - start)
    return flops, best, peak


def seed_epochs(epochs: int) -> list[float]:
    """The course's original training loop, timed per epoch (training + validation)."""
    full = datasets.MNIST(str(default_root()), train=True, transform=transforms.ToTensor())
    train, val = random_split(full, [TRAIN_SIZE, VAL_SIZE])
    train_loader = DataLoader(train, batch_size=512, shuffle=True)
    val_loader = DataLoader(val, batch_size=512, shuffle=False)
    model, criterion = AutoEncoder(2), nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    times = []
    for _ in range(epochs):
        start = time.perf_counter()
        model.train()
        for images, _ in train_loader:
            images = images.view(images.shape[0], -1)
            loss = criterion(model(images)[0], images)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            for images, _ in val_loader:
                images = images.view(images.shape[0], -1)
                criterion(model(images)[0], images).item()
        times.append(time.perf_counter() - start)
    return times


def quality_run(splits, seed: int) -> dict:
    """Train the AE (up to 100 epochs, early stopping) and the VAE (5 epochs) from ``seed``."""
    torch.manual_seed(seed)
    ae = fit(
        AutoEncoder(2),
        autoencoder_loss,
        splits.train_loader,
        splits.val_loader,
        100,
        device="cpu",
        progress=False,
    )
    vae = fit(
        VAE(2),
        vae_batch_loss,
        splits.train_loader,
        splits.val_loader,
        5,
        device="cpu",
        progress=False,
    )
    return {
        "seed": seed,
        "ae_epochs_run": len(ae.val_losses),
        "ae_test_mse": reconstruction_mse(ae.model, splits.test_loader),
        "vae_5_epochs_test_mse": reconstruction_mse(vae.model, splits.test_loader),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--quality", action="store_true", help="also train to early stopping")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds for --quality")
    parser.add_argument("--out", type=Path, default=Path("out/benchmarks"))
    args = parser.parse_args()
    torch.manual_seed(0)
    splits = make_splits()

    flops, replay, peak = floor_seconds(epoch_gemms(AutoEncoder(2)))
    seed = seed_epochs(args.epochs)
    ours = fit(
        AutoEncoder(2),
        autoencoder_loss,
        splits.train_loader,
        splits.val_loader,
        args.epochs,
        device="cpu",
        progress=False,
    ).epoch_seconds
    seed_s, ours_s = min(seed), min(ours)
    result = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} threads, "
        f"torch {torch.__version__}",
        "epoch_gflop": flops / 1e9,
        "floor_gemm_replay_s": replay,
        "floor_peak_sgemm_s": flops / peak,
        "peak_sgemm_gflops": peak / 1e9,
        "seed_epoch_s": seed_s,
        "aelab_epoch_s": ours_s,
        "seed_vs_floor": seed_s / replay,
        "aelab_vs_floor": ours_s / replay,
        "speedup_vs_seed": seed_s / ours_s,
    }
    if args.quality:
        pca = pca_reconstruction_mse(
            stack_images(splits.train_loader), stack_images(splits.test_loader), 2
        )
        runs = [quality_run(splits, seed) for seed in args.seeds]
        ae_mses = sorted(run["ae_test_mse"] for run in runs)
        result.update(
            {
                "pca2_test_mse": pca,
                "quality_runs": runs,
                "ae_test_mse_median": ae_mses[len(ae_mses) // 2],
                "ae_over_pca2_median": ae_mses[len(ae_mses) // 2] / pca,
                "ae_runs_at_most_0.035": sum(mse <= 0.035 for mse in ae_mses),
            }
        )
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "training_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result.items():
        print(f"{key:>24}: {value:.4g}" if isinstance(value, float) else f"{key:>24}: {value}")


if __name__ == "__main__":
    main()
