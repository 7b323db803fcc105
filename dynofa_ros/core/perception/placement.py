"""
Task mapping of the engine: device, intra-op thread count and CPU affinity, validated.

torch's intra-op thread count is a per-thread setting, so the engine applies it on its worker
thread at a frame boundary. CPU affinity is applied at once, from the thread that asks, to every
thread of the process (the worker and torch's intra-op pool alike), so that a kernel refusal
reaches the one who asked; threads created later inherit it.
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
    """
    Pin every thread of this process to `cores` (all allowed cores if empty).

    Raise ValueError with the kernel's reason when it refuses a thread (EPERM, or EINVAL for
    cores outside this process's cpuset); the threads already pinned are put back first, so the
    process keeps the affinity it had.
    """
    target = set(cores) or set(_ALLOWED)
    pinned = []     # (thread id, its affinity before)
    for tid in sorted(int(t) for t in os.listdir('/proc/self/task')):
        try:
            before = os.sched_getaffinity(tid)
            os.sched_setaffinity(tid, target)
        except ProcessLookupError:
            continue    # a thread that just ended
        except OSError as exc:
            unrestored = _put_back(pinned)
            note = f'; could not put back {unrestored}' if unrestored else ''
            raise ValueError(f'cpu_affinity {sorted(target)} refused by the kernel for thread '
                             f'{tid}: {exc.strerror or exc}{note}') from None
        pinned.append((tid, before))


def _put_back(pinned):
    """Give threads back their earlier affinity; return 'thread: reason' of those that failed."""
    failed = []
    for tid, before in reversed(pinned):
        try:
            os.sched_setaffinity(tid, before)
        except ProcessLookupError:
            pass        # ended meanwhile: nothing to put back
        except OSError as exc:
            failed.append(f'thread {tid}: {exc.strerror or exc}')
    return failed


def apply_threads(num_threads):
    """Set torch's intra-op thread count for the calling thread (0 leaves it)."""
    import torch
    if num_threads > 0 and torch.get_num_threads() != num_threads:
        torch.set_num_threads(num_threads)


_ALLOWED = set(os.sched_getaffinity(0))
