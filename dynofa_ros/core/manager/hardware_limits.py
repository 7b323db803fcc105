"""
What the hardware node reports it can do, applied to the manager's plan (ROS-free).

The hardware node publishes DvfsCapabilities: per domain whether it can write it, the
frequencies the kernel lists and the highest one it will set (the power-mode cap). The manager
plans over its profile's domains limited to those: a domain the node cannot write (or does not
have) is never commanded, and a writable one is planned only over frequencies the node accepts.
"""

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Reported:
    """One domain as the hardware node reports it."""

    writable: bool
    available_khz: tuple = ()
    max_allowed_khz: int = 0
    reason: str = ''


def limit(domains, reported):
    """
    Return ({name: Domain limited to what the node accepts}, {name: why not commanded}).

    domains: the manager's Domains (full tables); reported: {name: Reported}.
    """
    kept, excluded = {}, {}
    for d in domains:
        r = reported.get(d.name)
        if r is None:
            excluded[d.name] = 'the hardware node does not have this domain'
            continue
        if not r.writable:
            excluded[d.name] = 'the hardware node cannot write it' + (
                f' ({r.reason})' if r.reason else '')
            continue
        available = set(r.available_khz)
        table = tuple(f for f in d.frequencies_khz
                      if (not available or f in available) and f <= r.max_allowed_khz)
        if not table:
            excluded[d.name] = (f'no frequency of the profile is accepted by the hardware node '
                                f'(cap {r.max_allowed_khz} kHz)')
            continue
        kept[d.name] = replace(d, frequencies_khz=table)
    return kept, excluded


def cluster_affinity(listed_domains, domain_name):
    """
    Return the cores to pin an application to, () to keep its affinity.

    Its domain's cores, on profiles that list several cpufreq clusters (a Xavier NX: cpu0, cpu2,
    cpu4); () otherwise.

    Discovered per-core policies (generic_cpufreq on x86) are not clusters: nothing is pinned.
    """
    clusters = [d for d in listed_domains if d.kind == 'cpufreq' and d.cpus]
    if len(clusters) < 2:
        return ()
    match = [d for d in clusters if d.name == domain_name]
    return tuple(match[0].cpus) if match else ()
