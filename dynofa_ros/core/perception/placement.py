"""
Task mapping of the engine: device, intra-op thread count and CPU affinity, validated.

torch's intra-op thread count is a per-thread setting, so the engine applies it on its worker
thread at a frame boundary. CPU affinity is applied to every thread of the process (the worker
and torch's intra-op pool alike); threads created later inherit it.
"""

from dataclasses import dataclass
import os


@dataclass(frozen=True)
class Mapping:
    """Where the engine runs: device ('cpu', 'cuda', 'cuda:N'), threads (0: leave), cores."""

    device: str = 'cpu'
    num_threads: int = 0
    cpu_affinity: tuple = ()


def validate(device, num_threads, cpu_affinity):
    """Return a Mapping for valid values; raise ValueError with the reason otherwise."""
    device = str(device).strip().lower()
    if device != 'cpu':
        if device != 'cuda' and not device.startswith('cuda:'):
            raise ValueError(f"device {device!r} is not 'cpu', 'cuda' or 'cuda:N'")
        import torch
        if not torch.cuda.is_available():
            raise ValueError(f'device {device!r} requested but CUDA is not available here')
        index = device.partition(':')[2] or '0'
        if not index.isdigit() or int(index) >= torch.cuda.device_count():
            raise ValueError(f'device {device!r}: only {torch.cuda.device_count()} CUDA '
                             'device(s) present')
    try:
        threads = int(num_threads)
    except (TypeError, ValueError):
        raise ValueError(f'num_threads {num_threads!r} is not an integer')
    cores = os.cpu_count() or 1
    if threads != num_threads or not 0 <= threads <= cores:
        raise ValueError(f'num_threads {num_threads!r} outside [0, {cores}] (0 leaves '
                         "torch's default)")
    try:
        affinity = tuple(sorted({int(c) for c in cpu_affinity}))
    except (TypeError, ValueError):
        raise ValueError(f'cpu_affinity {cpu_affinity!r} must be a list of core numbers')
    missing = sorted(set(affinity) - _ALLOWED)
    if missing:
        raise ValueError(f'cpu_affinity cores {missing} are not available to this process '
                         f'(available: {sorted(_ALLOWED)})')
    return Mapping(device, threads, affinity)


def apply_affinity(cores):
    """Pin every thread of this process to `cores` (all allowed cores if empty)."""
    target = set(cores) or set(_ALLOWED)
    for tid in os.listdir('/proc/self/task'):
        try:
            os.sched_setaffinity(int(tid), target)
        except (ProcessLookupError, PermissionError):
            pass    # a thread that just ended, or one we may not touch


def apply_threads(num_threads):
    """Set torch's intra-op thread count for the calling thread (0 leaves it)."""
    import torch
    if num_threads > 0 and torch.get_num_threads() != num_threads:
        torch.set_num_threads(num_threads)


_ALLOWED = set(os.sched_getaffinity(0))
