"""
Evaluate the manager's policies on the simulated platform: a table per scenario and PNG timelines.

Every number is SIMULATED (dynofa_ros/core/evaluation/simulator.py), not measured on a board.
Example: `evaluate --out /tmp/eval` or `evaluate --scenario two_models --duration 10`.
"""

import argparse
import os
import sys

from dynofa_ros.core.evaluation.scenarios import SCENARIOS
from dynofa_ros.core.evaluation.simulator import DEFAULT_PLATFORM, metrics, SimPlatform, Simulator
from dynofa_ros.core.manager.config import POLICIES

COLUMNS = (('policy', '{}'), ('energy_j', '{:.1f}'), ('frames', '{}'),
           ('mj_per_frame', '{:.0f}'), ('vs_schedutil', '{}'), ('mean_ms', '{:.1f}'),
           ('p99_ms', '{:.1f}'), ('over_target_pct', '{:.1f}'), ('mean_top1', '{:.2f}'),
           ('subnet_switches', '{}'), ('dvfs_changes', '{}'))
HEADERS = ('policy', 'energy J', 'frames', 'mJ/frame', 'mJ/frame vs schedutil', 'mean ms',
           'p99 ms', 'over target %', 'mean top-1 %', 'sub-net switches', 'DVFS changes')


def build_parser():
    parser = argparse.ArgumentParser(
        prog='evaluate', description='Run the simulated scenarios under each policy (SIMULATED '
        'results, not measured on hardware).')
    parser.add_argument('--scenario', action='append', choices=sorted(SCENARIOS),
                        help='scenario to run (repeatable; default: all)')
    parser.add_argument('--policy', action='append', choices=POLICIES,
                        help='policy to run (repeatable; default: all)')
    parser.add_argument('--duration', type=float, default=0.0,
                        help='compress each scenario to this many seconds (default: as defined)')
    parser.add_argument('--seed', type=int, default=1, help='noise seed (default 1)')
    parser.add_argument('--platform', default=DEFAULT_PLATFORM,
                        help='simulation file: platform profile + ground truth '
                        '(docs/platform_profiles.md; default %(default)s)')
    parser.add_argument('--out', default='', help='directory for PNG timelines and results.md')
    return parser


def markdown_table(rows):
    """Return rows of metrics as a markdown table (with the vs-schedutil column filled)."""
    base = next((r['mj_per_frame'] for r in rows if r['policy'] == 'schedutil'), None)
    lines = ['| ' + ' | '.join(HEADERS) + ' |', '|' + '---|' * len(HEADERS)]
    for r in rows:
        r = dict(r)
        r['vs_schedutil'] = (f'{100.0 * (r["mj_per_frame"] / base - 1):+.1f}%'
                             if base else 'n/a')
        lines.append('| ' + ' | '.join(fmt.format(r[key]) for key, fmt in COLUMNS) + ' |')
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
    if args.duration < 0:
        print('evaluate: --duration must be positive', file=sys.stderr)
        return 2
    try:
        platform = SimPlatform(args.platform)
    except (OSError, ValueError) as exc:
        print(f'evaluate: {exc}', file=sys.stderr)
        return 2
    policies = args.policy or list(POLICIES)
    if args.out:
        os.makedirs(args.out, exist_ok=True)
    report = ['SIMULATED results (dynofa_ros/core/evaluation/simulator.py on '
              f'{os.path.basename(args.platform)}, seed {args.seed}); not measured on hardware.']
    for name in args.scenario or sorted(SCENARIOS):
        scenario = SCENARIOS[name]
        if args.duration:
            scenario = scenario.scaled(args.duration)
        results = [Simulator(scenario, policy, platform, seed=args.seed).run()
                   for policy in policies]
        table = markdown_table([metrics(r) for r in results])
        report.append(f'\n### {name} ({scenario.duration_s:g} s): {scenario.description}\n\n'
                      + table)
        if args.out:
            plot(scenario, results, os.path.join(args.out, f'{name}.png'))
    text = '\n'.join(report)
    print(text)
    if args.out:
        with open(os.path.join(args.out, 'results.md'), 'w') as f:
            f.write(text + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main())
