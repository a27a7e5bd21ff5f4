"""A learned neural vector quantiser, of the kind that ranked second in the competition.

Architecture (all budgets share the trunks, each budget has its own head and codebooks):

    x (active dims, standardised)
      -> Linear(d, W) -> ResBlock x R                      shared encoder trunk
      -> Linear(W, 8 B)                                    head of budget B
      -> B sub-vectors of 8 dims, each snapped to the nearest of 256 codewords of its own
         codebook (B bytes: one codeword index per sub-vector)
      -> Linear(8 B, W)                                    decoder head of budget B
      -> ResBlock x R -> Linear(W, d)                      shared decoder trunk
      -> x_hat (un-standardised)

ResBlock(h) = h + Linear(GELU(Linear(LayerNorm(h)))). Gradients pass the quantiser with the
straight-through estimator; codebooks are exponential moving averages of the encoder outputs
assigned to them (VQ-VAE with EMA), with a commitment loss, codebooks initialised from encoder
outputs and dead codewords restarted from random encoder outputs. The loss is the mean L2
reconstruction error (the competition's dr) summed over budgets, plus beta x commitment.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

SUB_DIM = 8
CODEWORDS = 256


@dataclass
class NeuralConfig:
    """Size and training schedule of the neural quantiser."""

    width: int = 512
    blocks: int = 2
    epochs: int = 10
    batch: int = 256
    lr: float = 1e-3
    commitment: float = 0.25
    ema_decay: float = 0.99
    dead_threshold: float = 0.5  # restart a codeword whose EMA usage per batch falls below this
    max_minutes: float = 8.0  # stop training early (and say so) past this wall time
    threads: int = 2
    seed: int = 0


@dataclass
class NeuralTraining:
    """What training did: epochs run, wall time, final loss per budget."""

    epochs_run: int
    seconds: float
    stopped_early: bool
    final_train_dr: dict[int, float] = field(default_factory=dict)
    parameters: int = 0


class ResBlock(nn.Module):
    """Pre-norm residual MLP block."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(width)
        self.fc1 = nn.Linear(width, width)
        self.fc2 = nn.Linear(width, width)

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.fc2(F.gelu(self.fc1(self.norm(h))))


class EmaCodebooks(nn.Module):
    """`groups` codebooks of 256 codewords of 8 dims, updated as EMAs of their assignments."""

    def __init__(self, groups: int, decay: float, dead_threshold: float) -> None:
        super().__init__()
        self.decay = decay
        self.dead_threshold = dead_threshold
        self.register_buffer("codebook", torch.zeros(groups, CODEWORDS, SUB_DIM))
        self.register_buffer("ema_count", torch.ones(groups, CODEWORDS))
        self.register_buffer("ema_sum", torch.zeros(groups, CODEWORDS, SUB_DIM))
        self.register_buffer("initialised", torch.tensor(False))

    def assign(self, z: torch.Tensor) -> torch.Tensor:
        """Nearest codeword index per sub-vector: z (n, groups, 8) -> (n, groups) int64."""
        # ||z - c||^2 = ||z||^2 - 2 z.c + ||c||^2; ||z||^2 does not change the argmin.
        c2 = (self.codebook * self.codebook).sum(-1).unsqueeze(1)  # (g, 1, k)
        dist = torch.baddbmm(c2, z.transpose(0, 1), self.codebook.transpose(1, 2), alpha=-2.0)
        return dist.argmin(-1).transpose(0, 1)

    def lookup(self, codes: torch.Tensor) -> torch.Tensor:
        """Codewords of indices (n, groups) -> (n, groups, 8)."""
        groups = torch.arange(codes.shape[1], device=codes.device)
        return self.codebook[groups.unsqueeze(0), codes]

    @torch.no_grad()
    def _initialise(self, z: torch.Tensor) -> None:
        pick = torch.randint(0, z.shape[0], (CODEWORDS,))
        self.codebook.copy_(z[pick].transpose(0, 1))
        self.ema_sum.copy_(self.codebook)
        self.ema_count.fill_(1.0)
        self.initialised.fill_(True)

    @torch.no_grad()
    def update(self, z: torch.Tensor, codes: torch.Tensor) -> None:
        """One EMA step on a batch, then restart unused codewords from random batch vectors."""
        groups = codes.shape[1]
        flat = (codes + CODEWORDS * torch.arange(groups).unsqueeze(0)).reshape(-1)
        count = torch.bincount(flat, minlength=groups * CODEWORDS).to(z.dtype)
        total = torch.zeros(groups * CODEWORDS, SUB_DIM, dtype=z.dtype)
        total.index_add_(0, flat, z.reshape(-1, SUB_DIM))
        self.ema_count.mul_(self.decay).add_(count.view(groups, CODEWORDS), alpha=1 - self.decay)
        self.ema_sum.mul_(self.decay).add_(
            total.view(groups, CODEWORDS, SUB_DIM), alpha=1 - self.decay
        )
        self.codebook.copy_(self.ema_sum / self.ema_count.clamp_min(1e-5).unsqueeze(-1))
        dead = self.ema_count < self.dead_threshold * (1 - self.decay)
        if dead.any():
            g_idx, k_idx = dead.nonzero(as_tuple=True)
            rows = torch.randint(0, z.shape[0], (g_idx.numel(),))
            self.codebook[g_idx, k_idx] = z[rows, g_idx]
            self.ema_sum[g_idx, k_idx] = z[rows, g_idx]
            self.ema_count[g_idx, k_idx] = 1.0

    def forward(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Quantise z (n, groups, 8): straight-through output, codes, commitment loss."""
        if self.training and not bool(self.initialised):
            self._initialise(z.detach())
        codes = self.assign(z.detach())
        q = self.lookup(codes)
        commitment = F.mse_loss(z, q.detach())
        if self.training:
            self.update(z.detach(), codes)
        return z + (q - z).detach(), codes, commitment


class NeuralVQ(nn.Module):
    """Shared encoder/decoder trunks with one quantiser head per budget."""

    def __init__(self, dim: int, budgets: list[int], cfg: NeuralConfig) -> None:
        super().__init__()
        w = cfg.width
        self.budgets = list(budgets)
        self.encoder = nn.Sequential(nn.Linear(dim, w), *[ResBlock(w) for _ in range(cfg.blocks)])
        self.decoder = nn.Sequential(
            *[ResBlock(w) for _ in range(cfg.blocks)], nn.LayerNorm(w), nn.Linear(w, dim)
        )
        self.enc_heads = nn.ModuleDict({str(b): nn.Linear(w, SUB_DIM * b) for b in budgets})
        self.dec_heads = nn.ModuleDict({str(b): nn.Linear(SUB_DIM * b, w) for b in budgets})
        self.quantisers = nn.ModuleDict(
            {str(b): EmaCodebooks(b, cfg.ema_decay, cfg.dead_threshold) for b in budgets}
        )

    def latent(self, h: torch.Tensor, budget: int) -> torch.Tensor:
        """Encoder output of one budget as (n, budget, 8) sub-vectors."""
        return self.enc_heads[str(budget)](h).view(h.shape[0], budget, SUB_DIM)

    def decode_latent(self, q: torch.Tensor, budget: int) -> torch.Tensor:
        """Reconstruction (standardised units) from quantised sub-vectors (n, budget, 8)."""
        return self.decoder(self.dec_heads[str(budget)](q.reshape(q.shape[0], -1)))

    def encode(self, x: torch.Tensor, budget: int) -> torch.Tensor:
        """Codes (n, budget) as uint8: exactly `budget` bytes per vector."""
        z = self.latent(self.encoder(x), budget)
        return self.quantisers[str(budget)].assign(z).to(torch.uint8)

    def decode(self, codes: torch.Tensor, budget: int) -> torch.Tensor:
        """Reconstruction (standardised units) from codes (n, budget)."""
        q = self.quantisers[str(budget)].lookup(codes.long())
        return self.decode_latent(q, budget)


class NeuralCodec:
    """Standardisation + the network; encodes and decodes numpy arrays of active dims."""

    def __init__(self, train: np.ndarray, budgets: list[int], cfg: NeuralConfig) -> None:
        torch.manual_seed(cfg.seed)
        torch.set_num_threads(cfg.threads)
        self.cfg = cfg
        self.mean = train.mean(axis=0).astype(np.float32)
        self.scale = float(np.sqrt(((train - self.mean) ** 2).sum(axis=1).mean() / train.shape[1]))
        self.net = NeuralVQ(train.shape[1], budgets, cfg)
        self.training_info: NeuralTraining | None = None

    def _standardise(self, x: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(((x - self.mean) / self.scale).astype(np.float32))

    def fit(self, train: np.ndarray, log=print) -> NeuralTraining:
        """Train all budgets jointly on the mean L2 error; stops at `max_minutes`."""
        cfg, net = self.cfg, self.net
        x_all = self._standardise(train)
        steps_per_epoch = -(-x_all.shape[0] // cfg.batch)
        opt = torch.optim.Adam(net.parameters(), lr=cfg.lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(
            opt, max_lr=cfg.lr, total_steps=cfg.epochs * steps_per_epoch, pct_start=0.1
        )
        start = time.monotonic()
        info = NeuralTraining(epochs_run=0, seconds=0.0, stopped_early=False)
        net.train()
        for epoch in range(cfg.epochs):
            perm = torch.randperm(x_all.shape[0])
            sums = {b: 0.0 for b in net.budgets}
            for s in range(steps_per_epoch):
                x = x_all[perm[s * cfg.batch : (s + 1) * cfg.batch]]
                loss, dr = self._step_loss(x)
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
                sched.step()
                for b in net.budgets:
                    sums[b] += dr[b] * x.shape[0]
            info.epochs_run = epoch + 1
            info.final_train_dr = {b: v / x_all.shape[0] * self.scale for b, v in sums.items()}
            elapsed = time.monotonic() - start
            if epoch == 0 or (epoch + 1) % 5 == 0 or epoch + 1 == cfg.epochs:
                drs = " ".join(f"{b}:{v:.3f}" for b, v in info.final_train_dr.items())
                log(f"  neural epoch {epoch + 1}/{cfg.epochs} ({elapsed:.0f} s) train dr {drs}")
            if elapsed > cfg.max_minutes * 60 and epoch + 1 < cfg.epochs:
                info.stopped_early = True
                log(f"  neural: stopped after {epoch + 1} epochs, past {cfg.max_minutes} minutes")
                break
        info.seconds = time.monotonic() - start
        info.parameters = sum(p.numel() for p in net.parameters())
        net.eval()
        self.training_info = info
        return info

    def _step_loss(self, x: torch.Tensor) -> tuple[torch.Tensor, dict[int, float]]:
        """Summed over budgets: mean L2 error + commitment; also each budget's mean L2."""
        net = self.net
        h = net.encoder(x)
        total = x.new_zeros(())
        dr = {}
        for b in net.budgets:
            q, _, commitment = net.quantisers[str(b)](net.latent(h, b))
            err = (net.decode_latent(q, b) - x).pow(2).sum(-1).add(1e-12).sqrt().mean()
            total = total + err + self.cfg.commitment * commitment
            dr[b] = float(err.detach())
        return total, dr

    @torch.no_grad()
    def encode(self, x: np.ndarray, budget: int) -> np.ndarray:
        """Codes (n, budget) uint8."""
        return self.net.encode(self._standardise(x), budget).numpy()

    @torch.no_grad()
    def decode(self, codes: np.ndarray, budget: int) -> np.ndarray:
        """Reconstruction in the original units (active dims)."""
        y = self.net.decode(torch.from_numpy(codes), budget).numpy()
        return y * self.scale + self.mean
