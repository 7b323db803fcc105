"""A recorded run's timeline as a PNG: latency vs target, sub-network, clocks and power."""

import numpy as np

# The latency axis ends at most this many times the highest target, so the target line keeps
# at least a quarter of the axis height whatever the outliers (shown as marks at the top).
MAX_TARGET_SPAN = 4.0


def latency_axis_top(latencies_ms, targets_ms):
    """
    Return the top of the latency axis: room for the 95th percentile, never hiding the target.

    A few outliers (model loading, a stalled frame) would otherwise stretch the axis to seconds
    and flatten the target line; they are clipped and counted instead.
    """
    target = max(targets_ms, default=0.0)
    typical = float(np.percentile(latencies_ms, 95)) * 1.15 if len(latencies_ms) else 0.0
    if target <= 0:
        return max(typical, 1.0)
    return min(max(typical, 1.5 * target), MAX_TARGET_SPAN * target)


def plot(tl, phases, path, title='dynofa_ros run'):
    """Write a PNG timeline and return the latency axis top (ms); outliers above it are marked."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    t0 = phases[0].start if phases else (tl.stats[0][0] if tl.stats else 0.0)
    fig, axes = plt.subplots(4, 1, figsize=(11, 10), sharex=True)
    ax = axes[0]
    if tl.stats:
        ax.plot([s[0] - t0 for s in tl.stats], [s[5] for s in tl.stats], '.', ms=3,
                label='inference latency (measured)')
        ax.plot([s[0] - t0 for s in tl.stats], [s[6] for s in tl.stats], '.', ms=2, alpha=0.4,
                label='end-to-end latency')
    for p in phases:
        ax.hlines(p.target_ms, p.start - t0, p.end - t0, colors='red', lw=2)
    ax.plot([], [], color='red', lw=2, label='target')
    latencies = [s[5] for s in tl.stats] + [s[6] for s in tl.stats]
    y_top = latency_axis_top(latencies, [p.target_ms for p in phases])
    above = [(s[0] - t0, max(s[5], s[6])) for s in tl.stats if max(s[5], s[6]) > y_top]
    if above:
        worst = max(v for _, v in above)
        ax.plot([t for t, _ in above], [y_top * 0.985] * len(above), '^', color='black', ms=4,
                label=f'{len(above)} frame(s) above {y_top:.0f} ms (max {worst:.0f} ms)')
    ax.set_ylim(0, y_top)
    ax.set_ylabel('latency (ms, clipped)' if above else 'latency (ms)')
    ax.legend(loc='upper right', fontsize=8)
    ax = axes[1]
    if tl.stats:
        ax.step([s[0] - t0 for s in tl.stats], [s[3] for s in tl.stats], where='post')
        ids = sorted({(s[3], s[2], s[4]) for s in tl.stats})
        ax.set_yticks([i[0] for i in ids], [f'{i[1]} ({i[2]:.1f}%)' for i in ids], fontsize=7)
        threads = ax.twinx()
        threads.step([s[0] - t0 for s in tl.stats], [s[7] for s in tl.stats], where='post',
                     color='purple', alpha=0.6, ls='--')
        threads.set_ylabel('intra-op threads (dashed)', fontsize=8)
        top = max(s[7] for s in tl.stats)
        threads.set_ylim(0, top + 1)
        threads.set_yticks(range(0, top + 2))
    ax.set_ylabel('sub-network (top-1)')
    ax = axes[2]
    domains = sorted({d for _, f in tl.frequencies for d in f})
    for d in domains:
        ax.step([t - t0 for t, f in tl.frequencies if d in f],
                [f[d] / 1000 for _, f in tl.frequencies if d in f], where='post', label=d)
    ax.set_ylabel('frequency (MHz)')
    if domains:
        ax.legend(loc='upper right', fontsize=8, ncol=len(domains))
    ax = axes[3]
    ax.plot([p[0] - t0 for p in tl.power], [p[1] for p in tl.power])
    kind = 'measured' if tl.power_measured else 'estimated'
    ax.set_ylabel(f'power (W, {kind})')
    ax.set_xlabel('time (s)')
    for axis in axes:
        for i, p in enumerate(phases):
            if i % 2:
                axis.axvspan(p.start - t0, p.end - t0, color='grey', alpha=0.08)
    for p in phases:
        axes[0].annotate(p.name, (p.start - t0, 1.0), xycoords=('data', 'axes fraction'),
                         fontsize=8, va='top')
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return y_top
