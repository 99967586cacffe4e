"""Benchmark: vae_lib.fit against the training loop of the PyTorch VAE example, on full MNIST.

Prints ONE JSON object to stdout (everything else goes to stderr). See bench/README.md.

    VAE_LIB_DATA=/path/to/mnist python bench/train_speed.py            # 10 epochs each
    python bench/train_speed.py --quick                                 # a smoke run in a minute

Both sides train the same 784-400-20 MLP VAE (fc1, fc21, fc22, fc3, fc4; ReLU; Bernoulli
output) with Adam (lr 1e-3), batch size 128, on the grey-level MNIST images as targets, and
are timed epoch by epoch, interleaved (reference epoch 1, vae_lib epoch 1, reference
epoch 2, ...), so that other load on the machine hits both sides alike.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import sys
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset, TensorDataset

import vae_lib
from vae_lib.data import load_mnist, mnist_source
from vae_lib.device import describe_device, pick_device
from vae_lib.models import VAE
from vae_lib.train import fit

TARGET_NATS = 106.0  # "time to 106 nats": first epoch whose test loss is at most this
LOSS_TOLERANCE = 0.5  # nats: the single-sample test loss of the two sides differs by noise alone
# A timing is a result only on a quiet, steady machine (see bench/README.md):
MAX_LOAD_PER_CORE = 0.5  # the 1-minute load average when the run starts, per core
MAX_OTHER_CPU_PER_CORE = 0.1  # CPU used by *other* processes during the run, per core
MAX_EPOCH_SPREAD = 0.25  # (slowest − fastest epoch) / median epoch, on each side
FORWARD_MATMUL_FLOPS = 2 * (784 * 400 + 400 * 20 * 2 + 20 * 400 + 400 * 784)  # per image
TRAIN_FLOPS_PER_IMAGE = 3 * FORWARD_MATMUL_FLOPS  # forward + backward ≈ 3 × forward


# --------------------------------------------------------------------------- the reference
# The loop users copy from github.com/pytorch/examples (vae/main.py), rewritten in its style:
# a map-style Dataset handing out one image at a time (as torchvision's MNIST with ToTensor
# does, minus the PIL round trip), a shuffling DataLoader that collates each batch, a model
# returning sigmoid probabilities, and a summed BCE + KL loss read back with .item() each batch.


class OneImageAtATime(Dataset):
    """MNIST as torchvision's ``datasets.MNIST(transform=ToTensor())`` serves it, item by item.

    torchvision is not a dependency (it has no CPU build that matches torch here), so its two
    steps are spelled out: ``MNIST.__getitem__`` wraps the 8-bit image in a PIL image, and
    ``ToTensor`` turns it back into a float [1, 28, 28] tensor divided by 255.
    """

    def __init__(self, images_uint8: torch.Tensor):
        self.images = images_uint8

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        picture = Image.fromarray(self.images[index].numpy(), mode="L")  # MNIST.__getitem__
        pixels = torch.from_numpy(np.array(picture, np.uint8, copy=True))  # ToTensor()
        image = pixels.view(28, 28, 1).permute(2, 0, 1).contiguous().to(torch.float32).div(255)
        return image, 0


class ReferenceVAE(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 400)
        self.fc21 = nn.Linear(400, 20)
        self.fc22 = nn.Linear(400, 20)
        self.fc3 = nn.Linear(20, 400)
        self.fc4 = nn.Linear(400, 784)

    def encode(self, x):
        hidden = F.relu(self.fc1(x))
        return self.fc21(hidden), self.fc22(hidden)

    def reparameterize(self, mu, logvar):
        std = torch.exp(0.5 * logvar)
        return mu + torch.randn_like(std) * std

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x):
        mu, logvar = self.encode(x.view(-1, 784))
        return self.decode(self.reparameterize(mu, logvar)), mu, logvar


def reference_loss(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 784), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


class Reference:
    """The example's model, optimizer, loaders and its train()/test() functions."""

    def __init__(self, train_uint8, test_uint8, device, batch_size, lr, seed):
        torch.manual_seed(seed)
        self.device = device
        extra = {"num_workers": 1, "pin_memory": True} if device.type == "cuda" else {}
        self.train_loader = DataLoader(OneImageAtATime(train_uint8), batch_size=batch_size, shuffle=True, **extra)
        self.test_loader = DataLoader(OneImageAtATime(test_uint8), batch_size=batch_size, shuffle=False, **extra)
        self.model = ReferenceVAE().to(device)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=lr)

    def train_epoch(self) -> float:
        self.model.train()
        train_loss = 0.0
        for data, _ in self.train_loader:
            data = data.to(self.device)
            self.optimizer.zero_grad()
            recon_batch, mu, logvar = self.model(data)
            loss = reference_loss(recon_batch, data, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            self.optimizer.step()
        return train_loss / len(self.train_loader.dataset)

    def test_loss(self) -> float:
        self.model.eval()
        total = 0.0
        with torch.no_grad():
            for data, _ in self.test_loader:
                data = data.to(self.device)
                recon_batch, mu, logvar = self.model(data)
                total += reference_loss(recon_batch, data, mu, logvar).item()
        return total / len(self.test_loader.dataset)

    def loader_only_seconds(self) -> float:
        """One pass over the training loader without any model: the data pipeline's own cost."""
        return loader_seconds(self.train_loader, self.device)


def loader_seconds(loader: DataLoader, device: torch.device) -> float:
    started = time.perf_counter()
    for data, _ in loader:
        data = data.to(device)
    return time.perf_counter() - started


# --------------------------------------------------------------------------- measurements


def synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def matmul_gflops(device: torch.device, seconds: float = 1.0) -> float:
    """The machine's fp32 GFLOP/s on the model's biggest matmul shape, [128×784] @ [784×400] (best of 3)."""
    a = torch.randn(128, 784, device=device)
    b = torch.randn(784, 400, device=device)
    flops = 2 * 128 * 784 * 400
    for _ in range(20):
        a @ b
    best = 0.0
    for _ in range(3):
        synchronize(device)
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds / 3:
            for _ in range(10):
                a @ b
            count += 10
            synchronize(device)
        best = max(best, count * flops / (time.perf_counter() - started) / 1e9)
    return best


def time_to_target(test_losses: list[float], epoch_seconds: list[float]) -> dict | None:
    elapsed = 0.0
    for epoch, (loss, seconds) in enumerate(zip(test_losses, epoch_seconds), start=1):
        elapsed += seconds
        if loss <= TARGET_NATS:
            return {"epoch": epoch, "seconds": round(elapsed, 2)}
    return None


def summary(epoch_seconds: list[float], test_losses: list[float], n_train: int, peak_gflops: float) -> dict:
    per_epoch = statistics.median(epoch_seconds)
    achieved = TRAIN_FLOPS_PER_IMAGE * n_train / per_epoch / 1e9
    return {
        "seconds_per_epoch": round(per_epoch, 3),
        "fastest_epoch_seconds": round(min(epoch_seconds), 3),
        "epoch_seconds": [round(s, 3) for s in epoch_seconds],
        "test_loss": round(test_losses[-1], 2),
        "test_loss_per_epoch": [round(loss, 2) for loss in test_losses],
        "time_to_106_nats": time_to_target(test_losses, epoch_seconds),
        "achieved_gflops": round(achieved, 2),
        "fraction_of_flop_bound": round(achieved / peak_gflops, 3),
    }


# --------------------------------------------------------------------------- is it a result?


class OtherLoad:
    """CPU time used by other processes while the run lasts: machine busy time minus our own.

    The load average cannot tell: this benchmark itself keeps every core busy. On Linux,
    ``/proc/stat`` gives the machine's busy time and ``getrusage`` our process's own.
    """

    def __enter__(self) -> OtherLoad:
        self.start = (self._machine_busy(), self._own(), time.perf_counter())
        self.load_average_at_start = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
        return self

    def __exit__(self, *exc) -> None:
        self.end = (self._machine_busy(), self._own(), time.perf_counter())

    @staticmethod
    def _machine_busy() -> float | None:
        try:
            fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
        except (OSError, ValueError):
            return None
        user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
        return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")

    @staticmethod
    def _own() -> float:
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime

    def cores_used_by_others(self) -> float | None:
        (busy0, own0, t0), (busy1, own1, t1) = self.start, self.end
        if busy0 is None or busy1 is None:
            return None
        return max(0.0, (busy1 - busy0) - (own1 - own0)) / (t1 - t0)


def spread(seconds: list[float]) -> float:
    """(slowest − fastest) / median epoch: how much other load or noise moved the timings."""
    return (max(seconds) - min(seconds)) / statistics.median(seconds)


def busy_machine_reasons(load: OtherLoad, cpu_count: int) -> list[str]:
    """Why the machine was not quiet enough for timings (empty when it was); shared by the benchmarks."""
    reasons = []
    start, others = load.load_average_at_start, load.cores_used_by_others()
    if start is not None and start > MAX_LOAD_PER_CORE * cpu_count:
        reasons.append(f"the load average was {start:.2f} on {cpu_count} cores when the run started "
                       f"(more than {MAX_LOAD_PER_CORE} per core)")
    if others is None:
        reasons.append("the CPU use of other processes cannot be measured here (no /proc/stat)")
    elif others > MAX_OTHER_CPU_PER_CORE * cpu_count:
        reasons.append(f"other processes used {others:.2f} of {cpu_count} cores during the run "
                       f"(more than {MAX_OTHER_CPU_PER_CORE} per core)")
    return reasons


def validity(load: OtherLoad, cpu_count: int, ref_seconds: list[float], lib_seconds: list[float]) -> dict:
    """Whether the timings can be reported: a quiet machine and steady epochs on both sides."""
    reasons = busy_machine_reasons(load, cpu_count)
    start, others = load.load_average_at_start, load.cores_used_by_others()
    for side, seconds in (("reference", ref_seconds), ("vae_lib", lib_seconds)):
        if len(seconds) > 1 and spread(seconds) > MAX_EPOCH_SPREAD:
            reasons.append(f"{side} epoch times vary by {spread(seconds):.0%} (more than {MAX_EPOCH_SPREAD:.0%})")
    return {
        "timings_are_a_result": not reasons,
        "why_not": reasons,
        "load_average_at_start": None if start is None else round(start, 2),
        "cores_used_by_other_processes": None if others is None else round(others, 3),
        "epoch_spread": {"reference": round(spread(ref_seconds), 3), "vae_lib": round(spread(lib_seconds), 3)},
    }


# --------------------------------------------------------------------------- main


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10, help="epochs for each side")
    parser.add_argument("--device", default="auto", help="auto, cpu, cuda or mps (both sides use it)")
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: 2 epochs on the first 10,000 training and 2,000 test images")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


def run(args) -> dict:
    device = pick_device(args.device)
    print(describe_device(args.device), file=sys.stderr)
    train_images, _ = load_mnist("train")
    test_images, _ = load_mnist("test")
    epochs = args.epochs
    if args.quick:
        train_images, test_images, epochs = train_images[:10_000], test_images[:2_000], min(epochs, 2)
    n_train = len(train_images)
    load = OtherLoad().__enter__()
    peaks = [matmul_gflops(device)]

    to_uint8 = lambda x: (x * 255).round().to(torch.uint8).squeeze(1)  # noqa: E731 - the raw 8-bit pixels
    reference = Reference(to_uint8(train_images), to_uint8(test_images), device, args.batch_size, args.lr, args.seed)
    reference_loader_seconds = reference.loader_only_seconds()
    # Context: the cheapest per-item pipeline, a TensorDataset of ready float images.
    float_images = TensorDataset(train_images, torch.zeros(n_train, dtype=torch.int64))
    tensordataset_seconds = loader_seconds(DataLoader(float_images, batch_size=args.batch_size, shuffle=True), device)

    torch.manual_seed(args.seed)
    model = VAE(latent_dim=20, hidden_dim=400, architecture="mlp", likelihood="bernoulli")
    lib_train = train_images.to(device)
    lib_test = test_images.to(device)
    ref_seconds, ref_losses, lib_losses = [], [], []
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = Path(folder) / "bench.pt"
        for epoch in range(1, epochs + 1):
            synchronize(device)
            started = time.perf_counter()
            train_loss = reference.train_epoch()
            synchronize(device)
            ref_seconds.append(time.perf_counter() - started)
            ref_losses.append(reference.test_loss())
            # vae_lib: the same run continued one epoch per call (resuming is exact), so the two
            # sides alternate under the same machine load; fit times its own epochs.
            model, history = fit(model, lib_train, epochs=epoch, batch_size=args.batch_size, lr=args.lr,
                                 device=device, seed=args.seed, test_data=lib_test, binarize=None,
                                 checkpoint=checkpoint, resume=True, progress="none")
            lib_losses.append(-history[-1]["test_elbo"])
            print(f"epoch {epoch}/{epochs}: reference {ref_seconds[-1]:.2f} s (train {train_loss:.1f}, test "
                  f"{ref_losses[-1]:.2f})  vae_lib {history[-1]['seconds']:.2f} s (test {lib_losses[-1]:.2f})",
                  file=sys.stderr)
            if epoch == (epochs + 1) // 2:
                peaks.append(matmul_gflops(device))
    lib_seconds = history.column("seconds")
    peaks.append(matmul_gflops(device))
    peak = max(peaks)
    load.__exit__(None, None, None)
    checks = validity(load, os.cpu_count() or 1, ref_seconds, lib_seconds)

    ref_summary = summary(ref_seconds, ref_losses, n_train, peak)
    ref_summary["loader_only_seconds_per_epoch"] = round(reference_loader_seconds, 3)
    ref_summary["tensordataset_loader_only_seconds_per_epoch"] = round(tensordataset_seconds, 3)
    lib_summary = summary(lib_seconds, lib_losses, n_train, peak)
    speedup = ref_summary["seconds_per_epoch"] / lib_summary["seconds_per_epoch"]
    fastest_speedup = ref_summary["fastest_epoch_seconds"] / lib_summary["fastest_epoch_seconds"]
    loss_difference = lib_summary["test_loss"] - ref_summary["test_loss"]
    return {
        "benchmark": "train_speed",
        "device": describe_device(args.device),
        "torch": torch.__version__,
        "vae_lib_version": vae_lib.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "cpu_count": os.cpu_count(),
        "validity": checks,
        "data": mnist_source("train").describe() + (" (quick: first 10,000)" if args.quick else ""),
        "n_train": n_train,
        "n_test": len(test_images),
        "epochs": epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "targets": "grey-level pixels (not binarized), as in the PyTorch example",
        "loss_units": "test loss = -ELBO, nats per image, one z sample per image",
        "matmul_peak_gflops": round(peak, 2),
        "matmul_gflops_samples": [round(p, 2) for p in peaks],
        "train_gflop_per_epoch": round(TRAIN_FLOPS_PER_IMAGE * n_train / 1e9, 2),
        "reference": ref_summary,
        "vae_lib": lib_summary,
        "speedup": round(speedup, 2),
        "speedup_of_fastest_epochs": round(fastest_speedup, 2),
        "speedup_note": "speedup = median reference epoch / median vae_lib epoch (timed interleaved); "
                        "the ratio of the fastest epochs is less sensitive to other load on shared cores",
        "test_loss_difference": round(loss_difference, 2),
        "meets_targets": {
            # The former 3x speed target is withdrawn (bench/README.md says why); speed is reported.
            "speed reported": checks["timings_are_a_result"] or "no: " + "; ".join(checks["why_not"]),
            f"test loss no worse (within {LOSS_TOLERANCE:g} nats of noise)": loss_difference <= LOSS_TOLERANCE,
        },
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    with contextlib.redirect_stdout(sys.stderr):  # keep stdout for the one JSON object
        result = run(args)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
