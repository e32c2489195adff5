"""Training speed of the reference AE against this machine's matmul floor and the seed's loop.

    python benchmarks/training_speed.py [--epochs 3] [--quality] [--out out/benchmarks]

Per epoch (48,000 training + 12,000 validation images, batch 512) it measures:
- floor: the epoch's matrix products alone (every forward, input-gradient and weight-gradient
  GEMM of every Linear layer, at the real shapes), replayed with torch.mm: no data
  pipeline, no activations, no optimiser. Also FLOPs / peak sgemm FLOP/s, on all threads and on one.
- required elementwise work: what the training must do besides the GEMMs (gathers, bias,
  activations and their gradients, the loss, Adam), replayed op by op without autograd. Floor
  plus this is the least an eager PyTorch loop can take.
- seed: the course's original loop (torchvision ToTensor dataset, DataLoader, plain Adam).
- aelab: ``aelab.training.fit`` on ``aelab.data.make_splits`` loaders.
With --quality it also trains the AE to early stopping and the VAE for 5 epochs and reports
test-set reconstruction MSE next to PCA with 2 components fitted on the same training split;
with --seed-quality also the AE trained by the seed's own loop and early stopping, per seed.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
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


def peak_sgemm(threads: int) -> float:
    """FLOP/s of a 2048x2048 float32 matrix product on ``threads`` threads."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    a, b = torch.rand(2048, 2048), torch.rand(2048, 2048)
    a @ b
    start = time.perf_counter()
    for _ in range(10):
        a @ b
    peak = 10 * 2 * 2048**3 / (time.perf_counter() - start)
    torch.set_num_threads(previous)
    return peak


def floor_seconds(gemms) -> tuple[float, float]:
    """(FLOPs, seconds to replay the GEMMs)."""
    flops = sum(2 * m * k * n for m, k, n in gemms)
    operands = {(m, k, n): (torch.rand(m, k), torch.rand(k, n)) for m, k, n in gemms}
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for m, k, n in gemms:
            torch.mm(*operands[(m, k, n)])
        best = min(best, time.perf_counter() - start)
    return flops, best


def elementwise_seconds(model: nn.Module, batch: int = 512) -> float:
    """One epoch's non-GEMM work that any implementation of the AE's training must do, replayed
    at its real shapes without autograd: batch gathers, bias adds, ReLU/Sigmoid forward and
    backward, MSE forward and backward, bias gradients and the fused Adam update."""
    layers: list[list] = []  # [out_features, activation] per Linear, in the order they run
    for module in model.modules():
        if isinstance(module, nn.Linear):
            layers.append([module.out_features, None])
        elif isinstance(module, nn.ReLU | nn.Sigmoid):
            layers[-1][1] = type(module)
    images = torch.rand(TRAIN_SIZE, 784)
    params = [p.detach().clone() for p in model.parameters()]
    for param in params:
        param.grad = torch.rand_like(param)
    optimizer = optim.Adam(params, lr=1e-3, fused=True)
    biases = {out: torch.rand(out) for out, _ in layers}
    input_grads = {out: torch.rand(batch, out) for out, _ in layers}

    def step(size: int, training: bool) -> None:
        x = images.index_select(0, torch.randint(TRAIN_SIZE, (size,)))
        outputs = []
        for out, activation in layers:
            y = biases[out].expand(size, out).contiguous()  # addmm's bias pass, before its GEMM
            if activation is nn.ReLU:
                y = y.clamp_min(0)
            elif activation is nn.Sigmoid:
                y = y.sigmoid()
            outputs.append((y, activation))
        reconstruction = outputs[-1][0]
        torch.nn.functional.mse_loss(reconstruction, x)
        if not training:
            return
        grad = (reconstruction - x).mul_(2 / reconstruction.numel())
        for index in reversed(range(len(outputs))):
            y, activation = outputs[index]
            if activation is nn.Sigmoid:
                grad = torch.ops.aten.sigmoid_backward(grad, y)
            elif activation is nn.ReLU:
                grad = torch.ops.aten.threshold_backward(grad, y, 0)
            grad.sum(0)  # the bias gradient
            if index:  # stands for the GEMM's gradient with respect to this layer's input
                grad = input_grads[outputs[index - 1][0].shape[1]][:size]
        optimizer.step()

    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for total, training in ((TRAIN_SIZE, True), (VAL_SIZE, False)):
            for offset in range(0, total, batch):
                step(min(batch, total - offset), training)
        best = min(best, time.perf_counter() - start)
    return best


def seed_training(epochs: int, patience: int | None = None) -> tuple[nn.Module, list[float]]:
    """The course's original pipeline and loop (torchvision ToTensor dataset, its own random
    split, DataLoader, plain Adam), timed per epoch (training + validation). With ``patience``
    it stops early as the seed does: after that many epochs without a lower validation loss,
    keeping the last weights, not the best."""
    full = datasets.MNIST(str(default_root()), train=True, transform=transforms.ToTensor())
    train, val = random_split(full, [TRAIN_SIZE, VAL_SIZE])
    train_loader = DataLoader(train, batch_size=512, shuffle=True)
    val_loader = DataLoader(val, batch_size=512, shuffle=False)
    model, criterion = AutoEncoder(2), nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=0.001)
    times, lowest, patience_counter = [], float("inf"), 0
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
        val_loss = 0.0
        with torch.no_grad():
            for images, _ in val_loader:
                images = images.view(images.shape[0], -1)
                val_loss += criterion(model(images)[0], images).item()
        times.append(time.perf_counter() - start)
        if patience is None:
            continue
        val_loss /= len(val_loader)
        if val_loss < lowest:
            lowest, patience_counter = val_loss, 0
        else:
            patience_counter += 1
            if patience_counter >= patience:
                break
    return model, times


def quality_run(splits, seed: int, seed_code: bool) -> dict:
    """Train the AE (up to 100 epochs, early stopping) and the VAE (5 epochs) from ``seed``;
    with ``seed_code`` also the AE with the course's original loop, from the same seed."""
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
    run = {
        "seed": seed,
        "ae_epochs_run": len(ae.val_losses),
        "ae_test_mse": reconstruction_mse(ae.model, splits.test_loader),
        "vae_5_epochs_test_mse": reconstruction_mse(vae.model, splits.test_loader),
    }
    if seed_code:
        torch.manual_seed(seed)
        model, times = seed_training(100, patience=5)
        run["seed_code_ae_epochs_run"] = len(times)
        run["seed_code_ae_test_mse"] = reconstruction_mse(model, splits.test_loader)
    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--quality", action="store_true", help="also train to early stopping")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0], help="seeds for --quality")
    parser.add_argument(
        "--seed-quality", action="store_true", help="with --quality, also train the seed's loop"
    )
    parser.add_argument("--out", type=Path, default=Path("out/benchmarks"))
    args = parser.parse_args()
    torch.manual_seed(0)
    splits = make_splits()

    flops, replay = floor_seconds(epoch_gemms(AutoEncoder(2)))
    peak, peak_one_thread = peak_sgemm(torch.get_num_threads()), peak_sgemm(1)
    elementwise = elementwise_seconds(AutoEncoder(2))
    seed = seed_training(args.epochs)[1]
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
        "floor_peak_sgemm_one_thread_s": flops / peak_one_thread,
        "peak_sgemm_one_thread_gflops": peak_one_thread / 1e9,
        "required_elementwise_s": elementwise,
        "floor_plus_elementwise_vs_floor": (replay + elementwise) / replay,
        "seed_epoch_s": seed_s,
        "aelab_epoch_s": ours_s,
        "seed_vs_floor": seed_s / replay,
        "aelab_vs_floor": ours_s / replay,
        "aelab_vs_floor_plus_elementwise": ours_s / (replay + elementwise),
        "seed_vs_one_thread_floor": seed_s * peak_one_thread / flops,
        "aelab_vs_one_thread_floor": ours_s * peak_one_thread / flops,
        "speedup_vs_seed": seed_s / ours_s,
    }
    if args.quality:
        pca = pca_reconstruction_mse(
            stack_images(splits.train_loader), stack_images(splits.test_loader), 2
        )
        runs = [quality_run(splits, seed, args.seed_quality) for seed in args.seeds]
        result["pca2_test_mse"] = pca
        result["quality_runs"] = runs
        for key in ("ae_test_mse", "seed_code_ae_test_mse"):
            mses = [run[key] for run in runs if key in run]
            if mses:
                result[f"{key}_median"] = statistics.median(mses)
                result[f"{key}_median_over_pca2"] = statistics.median(mses) / pca
                result[f"{key}_runs_at_most_0.035"] = sum(mse <= 0.035 for mse in mses)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "training_speed.json").write_text(json.dumps(result, indent=2) + "\n")
    for key, value in result.items():
        print(f"{key:>36}: {value:.4g}" if isinstance(value, float) else f"{key:>36}: {value}")


if __name__ == "__main__":
    main()
