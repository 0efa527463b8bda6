"""Data-parallel training with PyTorch's own distributed engine (``torch.distributed``, DDP).

Launch with ``torchrun``, which sets ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK`` and the rendezvous
variables for every process::

    torchrun --nproc-per-node 2 -m qml train classifier --distributed --out runs/ddp

:func:`init_distributed` joins the process group (gloo on CPU, NCCL when the model runs on CUDA).
The fit loop then wraps the model in :class:`~torch.nn.parallel.DistributedDataParallel`, gives each
rank its share of every global batch through a :class:`~torch.utils.data.DistributedSampler`,
averages gradients across ranks (DDP's all-reduce), and lets rank 0 alone write checkpoints,
metrics and plots. See docs/distributed.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import torch
import torch.distributed as dist

__all__ = ["DistributedContext", "init_distributed", "single_process"]


@dataclass(frozen=True)
class DistributedContext:
    """Where this process stands in a data-parallel run.

    Attributes:
        rank: this process's index, ``0 .. world_size-1``.
        world_size: number of processes.
        local_rank: index on this machine (the CUDA device it uses).
        device: the device its model and batches live on.
        active: whether a process group is initialised (``False`` for a plain single-process run).
    """

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    active: bool = False

    @property
    def is_main(self) -> bool:
        """Rank 0: the process that writes checkpoints, metrics and plots, and prints."""
        return self.rank == 0

    def barrier(self) -> None:
        """Wait for every rank (no-op in a single process)."""
        if self.active:
            dist.barrier()

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        """Element-wise sum of ``values`` over ranks (a copy; the input is unchanged)."""
        if not self.active:
            return values.clone()
        total = values.detach().clone().to(self.device)
        dist.all_reduce(total, op=dist.ReduceOp.SUM)
        return total.to(values.device)


def single_process(device: torch.device | str = "cpu") -> DistributedContext:
    """The context of an ordinary, non-distributed run."""
    return DistributedContext(device=torch.device(device))


def init_distributed(use_cuda: bool | None = None) -> DistributedContext:
    """Join the process group ``torchrun`` prepared (gloo on CPU, NCCL on CUDA).

    Args:
        use_cuda: put each rank on ``cuda:LOCAL_RANK`` with NCCL; ``None`` does so when CUDA is available.

    Raises:
        RuntimeError: the ``torchrun`` environment variables are missing.
    """
    missing = [name for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT") if name not in os.environ]
    if missing:
        raise RuntimeError(
            f"--distributed needs the environment torchrun sets up (missing {', '.join(missing)}). "
            "Launch with: torchrun --nproc-per-node N -m qml train RECIPE --distributed"
        )
    rank, world_size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    cuda = torch.cuda.is_available() if use_cuda is None else use_cuda
    device = torch.device(f"cuda:{local_rank}") if cuda else torch.device("cpu")
    if cuda:
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if cuda else "gloo", rank=rank, world_size=world_size)
    return DistributedContext(rank=rank, world_size=world_size, local_rank=local_rank, device=device, active=True)
