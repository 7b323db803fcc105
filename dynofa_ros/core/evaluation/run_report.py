"""
What a recorded run shows: read the output bag and summarise it as a table per phase.

Used by the demo and the replay tests (`timeline_plot` draws the timeline). The mission (latency
target per time span, named phases) comes from the caller, because the targets live in the
manager's parameters, not on a topic.
"""

from dataclasses import dataclass, field
import math

from dynofa_ros.core.bags import rosbag


@dataclass
class Phase:
    """A span of the mission: wall-clock start/end (s), its name and the latency target (ms)."""

    start: float
    end: float
    name: str
    target_ms: float


@dataclass
class Timeline:
    """The recorded topics of one run, as plain lists of (time s, ...) tuples."""

    stats: list = field(default_factory=list)  # (t, app, subnet, index, acc, inf, e2e, threads)
    counters: dict = field(default_factory=dict)   # app -> last (processed, dropped, rejected)
    subnet_commands: list = field(default_factory=list)  # (t, app, subnet_id, reason)
    dvfs_commands: list = field(default_factory=list)    # (t, domain, mode, khz, reason)
    frequencies: list = field(default_factory=list)      # (t, {domain: cur_khz})
    power: list = field(default_factory=list)            # (t, total_w, energy_j)
    power_source: str = ''
    power_measured: bool = False
    classifications: int = 0


def load(bag_path):
    """Read an output bag recorded from the running system into a Timeline."""
    tl = Timeline()
    for topic, msgtype, stamp, msg in rosbag.read_messages(bag_path):
        t = stamp / 1e9
        kind = msgtype.rsplit('/', 1)[-1]
        if kind == 'PerceptionStats':
            tl.stats.append((t, msg.app_id, msg.subnet_id, msg.subnet_index,
                             msg.expected_accuracy, msg.inference_latency_ms,
                             msg.end_to_end_latency_ms, msg.num_threads))
            tl.counters[msg.app_id] = (msg.frames_processed, msg.frames_dropped,
                                       msg.frames_rejected)
        elif kind == 'SubnetCommand':
            tl.subnet_commands.append((t, msg.app_id, msg.subnet_id, msg.reason))
        elif kind == 'DvfsCommand':
            tl.dvfs_commands.append((t, msg.domain, msg.mode, msg.frequency_khz, msg.reason))
        elif kind == 'SystemState':
            tl.frequencies.append((t, {d.name: d.cur_khz for d in msg.domains}))
        elif kind == 'PowerState':
            tl.power.append((t, msg.total_power_w, msg.energy_j))
            tl.power_source, tl.power_measured = msg.source, bool(msg.measured)
        elif kind == 'Classification':
            tl.classifications += 1
    return tl


def target_at(phases, t):
    """Return the latency target in force at time t (the phase containing t), or nan."""
    for phase in phases:
        if phase.start <= t < phase.end:
            return phase.target_ms
    return math.nan


def summarize(tl, phases):
    """Return per-phase and whole-run rows: frames, within target, accuracy, switches, energy."""
    rows = []
    spans = [(p.name, p.start, p.end) for p in phases]
    if phases:
        spans.append(('whole run', phases[0].start, phases[-1].end))
    for name, start, end in spans:
        stats = [s for s in tl.stats if start <= s[0] < end]
        within = [s[5] <= target_at(phases, s[0]) for s in stats]
        switches = sum(1 for a, b in zip(stats, stats[1:]) if a[2] != b[2])
        power = [p for p in tl.power if start <= p[0] < end]
        energy = power[-1][2] - power[0][2] if len(power) > 1 else math.nan
        target = {p.target_ms for p in phases if p.name == name}
        rows.append({
            'phase': name,
            'target_ms': target.pop() if len(target) == 1 else math.nan,
            'frames': len(stats),
            'within_target': sum(within) / len(within) if within else math.nan,
            'mean_latency_ms': _mean([s[5] for s in stats]),
            'mean_accuracy': _mean([s[4] for s in stats]),
            'subnets': ' '.join(sorted({s[2] for s in stats})),
            'threads': '/'.join(str(t) for t in sorted({s[7] for s in stats})) or '-',
            'switches': switches,
            'dvfs_commands': sum(1 for c in tl.dvfs_commands if start <= c[0] < end),
            'energy_j': energy,
            'mean_power_w': _mean([p[1] for p in power]),
        })
    return rows


def recovery(tl, phases, before='relaxed', during='contention', after='relaxed again'):
    """
    Return how the run came back after contention, or None when the phases are not there.

    (sub-network the `before` phase settled on (its last quarter), seconds from the end of
    `during` to the first frame on it or on a more accurate one, nan if never, that frame's
    sub-network, mean top-1 of `before` and `after`).
    """
    named = {p.name: p for p in phases}
    if not {before, during, after} <= set(named):
        return None
    first = named[before]
    tail = [s for s in tl.stats if first.start + 0.75 * (first.end - first.start) <= s[0]
            < first.end]
    if not tail:
        return None
    names = [s[2] for s in tail]
    settled = max(set(names), key=names.count)
    accuracy = next(s[4] for s in tail if s[2] == settled)
    end = named[during].end
    back = [s for s in tl.stats if end <= s[0] < named[after].end and (
        s[2] == settled or s[4] > accuracy)]
    top1 = [_mean([s[4] for s in tl.stats if p.start <= s[0] < p.end])
            for p in (first, named[after])]
    if not back:
        return settled, math.nan, '', top1[0], top1[1]
    return settled, back[0][0] - end, back[0][2], top1[0], top1[1]


def format_recovery(found):
    """Return the recovery line of the summary ('' when there is none)."""
    if found is None:
        return ''
    subnet, seconds, reached, top1_before, top1_after = found
    if math.isnan(seconds):
        when = f'never back on {subnet} (where the relaxed phase settled) or a more accurate one'
    else:
        on = subnet if reached == subnet else f'{reached}, more accurate than {subnet}'
        when = (f'on {on} (the relaxed phase settled on {subnet}) {seconds:.1f} s after the '
                'contention ended')
    return (f'recovery: {when}; mean top-1 {top1_before:.2f} relaxed, {top1_after:.2f} '
            'relaxed again')


def _mean(values):
    return sum(values) / len(values) if values else math.nan


def format_table(rows, tl):
    """Return the summary as a fixed-width text table with the energy source underneath."""
    head = ('phase', 'target ms', 'frames', 'in target', 'latency ms', 'top-1 %', 'switches',
            'threads', 'DVFS cmds', 'energy J', 'power W')
    lines = ['  '.join(f'{h:>10}' if i else f'{h:<14}' for i, h in enumerate(head))]
    for r in rows:
        cells = (r['phase'][:14], _fmt(r['target_ms'], 0), str(r['frames']),
                 _fmt(100 * r['within_target'], 0) + '%', _fmt(r['mean_latency_ms'], 1),
                 _fmt(r['mean_accuracy'], 2), str(r['switches']), r['threads'],
                 str(r['dvfs_commands']),
                 _fmt(r['energy_j'], 1), _fmt(r['mean_power_w'], 2))
        lines.append('  '.join(f'{c:>10}' if i else f'{c:<14}' for i, c in enumerate(cells)))
    source = tl.power_source or 'none'
    kind = 'measured' if tl.power_measured else 'ESTIMATED by the power model'
    counters = ', '.join(f'{app}: {p} processed, {d} dropped, {r} rejected'
                         for app, (p, d, r) in sorted(tl.counters.items()))
    lines.append(f'energy source: {source} ({kind}); frames: {counters or "none"}')
    return '\n'.join(lines)


def _fmt(value, digits):
    return '-' if value is None or (isinstance(value, float) and math.isnan(value)) \
        else f'{value:.{digits}f}'
