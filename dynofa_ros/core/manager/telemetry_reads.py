"""
What the manager's system telemetry says, read without changing anything.

A SystemSnapshot older than `stale_after_s` is stale: the manager then holds its decisions.
Every function here is pure: asking whether telemetry is fresh never changes any state.
"""


def staleness(snapshot, now, stale_after_s):
    """Return '' when the snapshot is fresh at `now`, else why it is not."""
    if snapshot is None:
        return 'no system telemetry yet'
    age = now - snapshot.t
    if age > stale_after_s:
        return f'system telemetry {age:.1f} s old (> {stale_after_s} s)'
    return ''


def is_fresh(snapshot, now, stale_after_s):
    """Return True when there is a snapshot no older than stale_after_s at `now`."""
    return snapshot is not None and not now - snapshot.t > stale_after_s


def running_frequency(domain, snapshot, commanded):
    """
    Return the frequency a domain runs at: in the snapshot, else pinned, else its maximum.

    `snapshot` is the SystemSnapshot to believe (None: none is), `commanded` the manager's last
    DvfsDecision for the domain (None: none).
    """
    if snapshot is not None and domain.name in snapshot.cur_khz:
        return snapshot.cur_khz[domain.name]
    if commanded is not None and commanded.mode == 'pin':
        return commanded.frequency_khz
    return domain.f_max


def busy_shares(snapshot, app_domains):
    """Return busy shares: measured where the snapshot has them, else 1 for app domains."""
    loads = dict.fromkeys(app_domains, 1.0)
    if snapshot is not None:
        loads.update(snapshot.utilization)
    return loads
