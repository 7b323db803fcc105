"""
Evaluate the manager's policies on the simulated platform: a table per scenario and PNG timelines.

Every number is SIMULATED (dynofa_ros/core/evaluation/simulator.py), not measured on a board,
and the report names the platform file and seed that produced it. Example: `evaluate --out
/tmp/eval`, `evaluate --scenario gpu_two --duration 10`, or `evaluate --scenario my_mission.yaml
--platform my_board_sim.yaml` (schemas: docs/evaluation.md, docs/platform_profiles.md).
"""

import argparse
import dataclasses
import math
import os
import sys

from dynofa_ros.core.common.errors import ConfigError
from dynofa_ros.core.evaluation import comparison
from dynofa_ros.core.evaluation.scenarios import check_against, load_file, SCENARIOS
from dynofa_ros.core.evaluation.simulator import (DEFAULT_PLATFORM, SimPlatform, Simulator,
                                                  SUBNET_GOVERNOR)
from dynofa_ros.core.manager.config import POLICIES

ORACLE = 'oracle'
ROWS = tuple(POLICIES) + (SUBNET_GOVERNOR, ORACLE)
BASELINE = 'schedutil'
HEADERS = ('policy', 'mJ/frame', 'W (J/s)', 'frames', 'dropped', 'over target %',
           'mean top-1 %', 'vs schedutil at similar latency: energy/frame, top-1',
           'vs oracle energy/frame', 'sub-net switches', 'DVFS changes')


def build_parser():
    parser = argparse.ArgumentParser(
        prog='evaluate', description='Run simulated scenarios under each policy, plus '
        'sub-network switching on schedutil and the best static configuration per phase '
        '(oracle). SIMULATED results, not measured on hardware.')
    parser.add_argument('--scenario', action='append', metavar='NAME|FILE',
                        help=f'a built-in scenario ({", ".join(sorted(SCENARIOS))}) or a '
                        'scenario YAML file (docs/evaluation.md); repeatable; default: all '
                        'built-in')
    parser.add_argument('--policy', action='append', choices=ROWS,
                        help='row to run (repeatable; default: all)')
    parser.add_argument('--duration', type=float, default=0.0,
                        help='compress each scenario to this many seconds (default: as defined)')
    parser.add_argument('--seed', type=int, default=1, help='noise seed (default 1)')
    parser.add_argument('--seeds', type=int, default=1,
                        help='run seeds SEED .. SEED+N-1 and pool them (per phase: energy, '
                        'frames and drops the mean per run; default 1)')
    parser.add_argument('--platform', default=DEFAULT_PLATFORM,
                        help='simulation file: platform profile + simulation constants '
                        '(docs/platform_profiles.md; default %(default)s)')
    parser.add_argument('--out', default='', help='directory for PNG timelines and results.md')
    return parser


def load_scenarios(names, domains):
    """Return the Scenarios named (built-in names or YAML files); ConfigError if unusable."""
    out = []
    for name in names or sorted(SCENARIOS):
        if name in SCENARIOS:
            scenario = SCENARIOS[name]
        elif os.path.isfile(name):
            scenario = load_file(name)
        else:
            raise ConfigError(f'--scenario {name}: neither a built-in scenario '
                              f'({", ".join(sorted(SCENARIOS))}) nor a file')
        check_against(scenario, domains)
        out.append(scenario)
    return out


def run_scenario(scenario, platform, policies, seed):
    """Run every row on one scenario; return {row: (result or None, phase rows)}."""
    runs = {}
    for policy in policies:
        if policy == ORACLE:
            continue
        result = Simulator(scenario, policy, platform, seed=seed).run()
        runs[policy] = (result, comparison.phase_rows(result, scenario))
    if ORACLE in policies:
        runs[ORACLE] = (None, oracle_rows(scenario, platform, seed, runs.get('dynofa')))
    return runs


def pooled(per_seed):
    """
    Return run_scenario's {row: (result, phase rows)} pooled over several seeds' runs.

    Per phase: energy, frames and drops the mean per run, over-target % and top-1 frame-weighted;
    a phase without frames in any seed (no static configuration met the target) has none. The
    result is the first seed's, with its switch and DVFS counts the mean over seeds.
    """
    if len(per_seed) == 1:
        return per_seed[0]
    out = {}
    for policy in per_seed[0]:
        results = [runs[policy][0] for runs in per_seed]
        rows = []
        for phase in zip(*[runs[policy][1] for runs in per_seed]):
            row = dict(phase[0])
            if not all(r['frames'] for r in phase):
                row.update(energy_j=math.nan, frames=0, dropped=0, over_pct=math.nan,
                           top1=math.nan)
            else:
                frames, n = sum(r['frames'] for r in phase), len(phase)
                row.update(energy_j=sum(r['energy_j'] for r in phase) / n, frames=frames / n,
                           dropped=sum(r['dropped'] for r in phase) / n,
                           over_pct=sum(r['over_pct'] * r['frames'] for r in phase) / frames,
                           top1=sum(r['top1'] * r['frames'] for r in phase) / frames)
            rows.append(row)
        result = results[0]
        if result is not None:
            result = dataclasses.replace(
                result, subnet_switches=round(sum(r.subnet_switches for r in results)
                                              / len(results)),
                dvfs_changes=round(sum(r.dvfs_changes for r in results) / len(results)))
        out[policy] = (result, rows)
    return out


def seeds_text(seed, count):
    """Return 'seed 1' or 'seeds 1-3 pooled'."""
    return f'seed {seed}' if count == 1 else f'seeds {seed}-{seed + count - 1} pooled'


def oracle_rows(scenario, platform, seed, dynofa):
    """Return the oracle's phase rows (scaled to each phase's length); frames 0 if none fits."""
    oracle = comparison.Oracle.simulated(platform, seed)
    rows = []
    for k, (start, end) in enumerate(scenario.phases()):
        phase = comparison.phase_scenario(scenario, start, end)
        floor = dynofa[1][k]['top1'] if dynofa and dynofa[1][k]['frames'] else 0.0
        row, config = oracle.best(phase, floor)
        if row is None:
            rows.append({'start': start, 'end': end, 'energy_j': math.nan, 'frames': 0,
                         'dropped': 0, 'over_pct': math.nan, 'top1': math.nan})
            continue
        scale = (end - start) / phase.duration_s
        rows.append(dict(row, start=start, end=end, energy_j=row['energy_j'] * scale,
                         frames=round(row['frames'] * scale),
                         dropped=round(row['dropped'] * scale), placement=config[2]))
    return rows


def _total(rows):
    frames = sum(r['frames'] for r in rows)
    energy = sum(r['energy_j'] for r in rows)
    seconds = sum(r['end'] - r['start'] for r in rows)
    over = sum(r['over_pct'] * r['frames'] for r in rows if r['frames']) / frames if (
        frames) else math.nan
    top1 = sum(r['top1'] * r['frames'] for r in rows if r['frames']) / frames if (
        frames) else math.nan
    return {'mj_per_frame': 1000.0 * energy / frames if frames else math.nan,
            'watts': energy / seconds if frames else math.nan, 'frames': frames,
            'dropped': sum(r['dropped'] for r in rows), 'over_pct': over, 'top1': top1}


def summary(runs):
    """Return one dict per row: totals, the comparison at similar latency and vs the oracle."""
    base = runs.get(BASELINE)
    oracle = runs.get(ORACLE)
    out = []
    for policy, (result, rows) in runs.items():
        missing = sum(1 for r in rows if not r['frames'])
        if policy == ORACLE and missing:
            # Phases where no static configuration meets the target: totals over the others.
            policy = f'oracle (none meets the target in {missing} of {len(rows)} phases)'
            rows = [r for r in rows if r['frames']] or rows
        row = dict(_total(rows), policy=policy,
                   switches=result.subnet_switches if result else '-',
                   dvfs=result.dvfs_changes if result else '-',
                   placement=placement_text(result) if result else _static_placement(rows))
        row['similar'] = comparison.similar_latency(rows, base[1]) if base else None
        row['vs_oracle'] = None
        if oracle and all(r['frames'] for r in oracle[1]):
            mine, best = row['mj_per_frame'], _total(oracle[1])['mj_per_frame']
            row['vs_oracle'] = 100.0 * (mine / best - 1.0)
        out.append(row)
    return out


def placement_text(result):
    """Return where each application that could move ran, in seconds per domain."""
    parts = []
    for app_id, log in sorted(result.placements.items()):
        seconds = {}
        for (t, domain), (end, _) in zip(log, log[1:] + [(result.duration_s, None)]):
            seconds[domain] = seconds.get(domain, 0.0) + end - t
        moves = len(log) - 1
        parts.append(f'{app_id}: ' + ', '.join(f'{d} {s:.1f} s' for d, s in seconds.items())
                     + (f' ({moves} moves)' if moves != 1 else ' (1 move)'))
    return '; '.join(parts)


def _static_placement(rows):
    """Return the oracle's placement per phase, e.g. 'rear: cpu0' or '0-10 s rear: gpu; ...'."""
    texts = [(r, ', '.join(f'{a}: {d}' for a, d in sorted(r['placement'].items())))
             for r in rows if r.get('placement')]
    if len({t for _, t in texts}) <= 1:
        return texts[0][1] if texts else '-'
    return '; '.join(f'{r["start"]:g}-{r["end"]:g} s {t}' for r, t in texts)


def _count(value):
    """Return a frame count: whole, or to 0.1 when it is a mean over seeds."""
    return f'{value:.0f}' if abs(value - round(value)) < 1e-9 else f'{value:.1f}'


def similar_text(similar):
    if similar is None:
        return 'n/a (schedutil misses its target in every phase)'
    energy, top1, ok = similar
    flags = ([] if ok else ['misses its target there']) + (
        ['not at similar accuracy'] if abs(top1) > comparison.SIMILAR_TOP1 else [])
    return f'{energy:+.1f}%, {top1:+.2f}' + (f' ({"; ".join(flags)})' if flags else '')


def markdown_table(rows, placement=False):
    """Return summary rows as a markdown table (placement: with where applications ran)."""
    headers = HEADERS + (('placement',) if placement else ())
    lines = ['| ' + ' | '.join(headers) + ' |', '|' + '---|' * len(headers)]
    for r in rows:
        cells = (r['policy'], f'{r["mj_per_frame"]:.0f}', f'{r["watts"]:.2f}',
                 _count(r['frames']), _count(r['dropped']), f'{r["over_pct"]:.1f}',
                 f'{r["top1"]:.2f}', similar_text(r['similar']),
                 'n/a' if r['vs_oracle'] is None else f'{r["vs_oracle"]:+.1f}%',
                 str(r['switches']), str(r['dvfs']))
        lines.append('| ' + ' | '.join(cells + ((r['placement'],) if placement else ()))
                     + ' |')
    return '\n'.join(lines)


def plot(scenario, results, path):
    """Write a PNG of latency, frequency and power over time for every policy run."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(3, 1, figsize=(11, 9), sharex=True)
    for res in results:
        for app, frames in res.frames.items():
            if frames:
                axes[0].plot([f[0] for f in frames], [f[1] for f in frames], lw=0.8,
                             label=f'{res.policy} {app}')
        for key, values in res.timeline.items():
            if key.endswith('_mhz'):
                axes[1].plot(res.timeline['t'], values, lw=0.8,
                             label=f'{res.policy} {key[:-4]}')
        axes[2].plot(res.timeline['t'], res.timeline['power_w'], lw=0.6, label=res.policy)
    for app, frames in results[0].frames.items():
        if frames:
            axes[0].step([f[0] for f in frames], [f[2] for f in frames], 'k--', lw=1,
                         where='post', label=f'target {app}')
    axes[0].set_ylabel('inference latency (ms)')
    axes[0].set_yscale('log')
    axes[1].set_ylabel('frequency (MHz)')
    axes[2].set_ylabel('board power (W)')
    axes[2].set_xlabel('time (s)')
    for ax in axes:
        ax.legend(fontsize=6, ncol=4)
        ax.grid(alpha=0.3)
    fig.suptitle(f'SIMULATED: {scenario.name} - {scenario.description}', fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.duration < 0 or args.seeds < 1:
        print('evaluate: --duration must be positive and --seeds at least 1', file=sys.stderr)
        return 2
    try:
        platform = SimPlatform(args.platform)
        scenarios = load_scenarios(args.scenario, platform.truth)
    except (OSError, ValueError) as exc:
        print(f'evaluate: {exc}', file=sys.stderr)
        return 2
    policies = args.policy or list(ROWS)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    report = [f'SIMULATED results: dynofa_ros/core/evaluation/simulator.py, platform file '
              f'{args.platform}, {seeds_text(args.seed, args.seeds)}; not measured on '
              f'hardware. "At similar '
              f'latency": only phases where schedutil meets its target (at most '
              f'{comparison.MEET_PCT:g} % of frames over it).']
    for scenario in scenarios:
        if args.duration:
            scenario = scenario.scaled(args.duration)
        runs = pooled([run_scenario(scenario, platform, policies, seed)
                       for seed in range(args.seed, args.seed + args.seeds)])
        table = markdown_table(summary(runs),
                               placement=any(len(a.listed) > 1 for a in scenario.apps))
        report.append(f'\n### {scenario.name} [{scenario.label}] ({scenario.duration_s:g} s, '
                      f'SIMULATED, {os.path.basename(args.platform)}, '
                      f'{seeds_text(args.seed, args.seeds)}): '
                      f'{scenario.description}\n\n' + table)
        if args.out:
            plot(scenario, [r for r, _ in runs.values() if r is not None],
                 os.path.join(args.out, f'{scenario.name}.png'))
    text = '\n'.join(report)
    print(text)
    if args.out:
        with open(os.path.join(args.out, 'results.md'), 'w') as f:
            f.write(text + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
