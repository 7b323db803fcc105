"""
What the hardware node reports in /diagnostics, as plain data: (level, name, message, values).

Per DVFS domain a status named '<node>: dvfs <domain>' carries the domain's available frequencies
(key `available_khz`, space-separated kHz, ascending) and governors (key `governors`,
space-separated), so a reader can learn them without reading sysfs itself.
"""

from dynofa_ros.core.platforms.profiles import HZ_PER_UNIT

OK, WARN, ERROR = 0, 1, 2


def domain_status(node, domain):
    """Return the status tuple of one DVFS domain."""
    unit = HZ_PER_UNIT[domain.kind]
    original = {key: domain.original.get(attr, '') for key, attr in (
        ('governor', 'scaling_governor' if domain.kind == 'cpufreq' else 'governor'),
        ('min', 'scaling_min_freq' if domain.kind == 'cpufreq' else 'min_freq'),
        ('max', 'scaling_max_freq' if domain.kind == 'cpufreq' else 'max_freq'))}
    values = {
        'kind': domain.kind,
        'path': domain.spec.path,
        'cpus': ' '.join(map(str, domain.spec.cpus)),
        'available_khz': ' '.join(map(str, domain.available_khz)),
        'frequency_source': domain.frequency_source,
        'governors': ' '.join(domain.governors),
        'writable': str(domain.writable).lower(),
        'original_governor': original['governor'],
        'original_min_khz': str(round(int(original['min']) / unit)) if original['min'] else '',
        'original_max_khz': str(round(int(original['max']) / unit)) if original['max'] else '',
    }
    if domain.writable:
        return OK, f'{node}: dvfs {domain.name}', 'writable', values
    return WARN, f'{node}: dvfs {domain.name}', 'telemetry-only (no write permission)', values


def command_status(node, counts, last, level, watchdog):
    """Return the status tuple of the command path (last outcome, counters, watchdog)."""
    values = {key: str(value) for key, value in counts.items()}
    values['watchdog'] = watchdog
    return level, f'{node}: dvfs commands', last or 'no command yet', values


def state_file_status(node, path, recovery, saved):
    """Return the status tuple of crash safety: the state file and what start recovered."""
    values = {'state_file': path, 'holds_start_settings': str(saved).lower()}
    if recovery is None:
        return OK, f'{node}: dvfs state', 'clean start (no state file left behind)', values
    values['recovered'] = ' '.join(recovery.restored)
    values['recovery_failed'] = '; '.join(recovery.failed)
    level = WARN if recovery.ok else ERROR
    return level, f'{node}: dvfs state', recovery.summary(), values


def telemetry_status(node, stale, power_source, measured):
    """Return the status tuple of the telemetry (stale sensors, power source)."""
    values = {'power_source': power_source, 'power_measured': str(measured).lower(),
              'stale_sensors': '; '.join(stale)}
    if stale:
        return WARN, f'{node}: telemetry', f'{len(stale)} stale sensor(s): {stale[0]}', values
    message = 'all sensors read' + ('' if measured else ', power estimated from the model')
    return OK, f'{node}: telemetry', message, values
