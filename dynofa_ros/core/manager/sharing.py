"""
How applications time-slicing one domain slow each other down (a GPU's contexts, a CPU cluster).

Under fair time slicing two busy applications each run at half speed, so an inference of i is
stretched by half the time another application j is busy during it: latency_i = solo_i + sum_j
b_j x latency_i / 2, where b_j = min(1, rate_j x latency_j) is j's busy share with its own
stretching. Solved as a fixed point over all applications of the domain:

    latency_i = solo_i / (1 - sum_{j != i} b_j / 2),   at most solo_i x (1 + others)

An application whose camera rate is unknown (0) counts as always busy (b = 1). The first-order
rule this replaces, solo_i x (1 + sum_j solo_j x rate_j), is exact for two light loads but under
a combined load near the domain's capacity it was 11-22 % short of the simulated mean latency,
where this model is within 6 % (docs/manager.md; test_time_slicing_model_*; up to 15 % short
for two very unequal rates, 4 and 13 Hz).

A latency target is a deadline per frame, so plans are checked against a tail, not the mean
(`tail_slowdowns`): a frame of i meets one of j with probability p = rate_j x (latency_j +
latency_i) (1 if j is always busy); the overlap then costs i up to min(solo_i, solo_j) (both at
half speed until the shorter ends), taken as uniform in [0, that]. Its `quantile` is the
overlapped frames' (1 - (1 - quantile) / p) quantile, 0 when p <= 1 - quantile. What this
model misses either way is left to the latency margin, learnt from the measured spread around
this tail.
"""

import numpy as np

ITERATIONS = 30        # at most; it stops once no slowdown moves by TOLERANCE
TOLERANCE = 1e-3


def busy_shares(latencies_ms, rates_hz):
    """Return each application's busy share of the domain, min(1, latency x rate); 0 Hz: 1."""
    latencies = [np.asarray(lat, dtype=float) for lat in latencies_ms]
    return [np.minimum(1.0, lat * r / 1000.0) if r > 0 else np.ones_like(lat)
            for lat, r in zip(latencies, rates_hz)]


def slowdowns(solos_ms, rates_hz):
    """
    Return each application's latency / solo latency when they share one domain.

    solos_ms: arrays (broadcast together) of solo latencies; rates_hz: camera rates (0: always
    busy). Returned arrays broadcast like the solos.
    """
    solos = [np.asarray(s, dtype=float) for s in solos_ms]
    n = len(solos)
    if n < 2:
        return [np.ones_like(s) for s in solos]
    slow = [np.ones_like(s) for s in solos]
    for _ in range(ITERATIONS):
        busy = busy_shares([s * k for s, k in zip(solos, slow)], rates_hz)
        total = sum(busy)
        new = [np.minimum(float(n), 1.0 / np.maximum(1.0 - (total - b) / 2.0, 1.0 / n))
               for b in busy]
        done = max(float(np.max(np.abs(a - b))) for a, b in zip(new, slow)) < TOLERANCE
        slow = new
        if done:
            break
    return slow


def tail_slowdowns(solos_ms, rates_hz, quantile, mean=None):
    """
    Return each application's `quantile` latency / solo latency when they share one domain.

    Never below the mean slowdown (`slowdowns`; pass it as `mean` when already computed);
    quantile <= 0 returns the mean.
    """
    solos = [np.asarray(s, dtype=float) for s in solos_ms]
    if mean is None:
        mean = slowdowns(solos, rates_hz)
    if len(solos) < 2 or quantile <= 0:
        return mean
    latency = [s * k for s, k in zip(solos, mean)]
    out = []
    for i, solo in enumerate(solos):
        extra = np.zeros_like(solo)
        for j, (other, rate) in enumerate(zip(solos, rates_hz)):
            if j == i:
                continue
            meet = np.minimum(1.0, rate * (latency[j] + latency[i]) / 1000.0) if rate > 0 else (
                np.ones_like(solo))
            share = np.clip(1.0 - (1.0 - quantile) / np.maximum(meet, 1e-9), 0.0, 1.0)
            extra = extra + np.minimum(solo, other) * share
        out.append(np.maximum(mean[i], 1.0 + extra / np.maximum(solo, 1e-9)))
    return out
