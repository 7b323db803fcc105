"""
The DVFS domains of a platform profile, as far as the manager needs them.

Reads only the keys docs/interfaces.md promises (domains[].name, kind, cpus, frequencies_khz), so
the manager works with any profile the hardware node accepts.
"""

from dataclasses import dataclass

from dynofa_ros.core.common import yaml_file

KINDS = ('cpufreq', 'devfreq')


class PlatformError(ValueError):
    """A platform profile is missing, malformed or lacks what the manager needs."""


@dataclass(frozen=True)
class Domain:
    """One DVFS domain: its name, kind, cores and ascending frequency table in kHz."""

    name: str
    kind: str
    cpus: tuple
    frequencies_khz: tuple

    @property
    def f_min(self):
        return self.frequencies_khz[0]

    @property
    def f_max(self):
        return self.frequencies_khz[-1]

    def nearest_at_least(self, khz):
        """Return the lowest table frequency >= khz, or the maximum."""
        for f in self.frequencies_khz:
            if f >= khz:
                return f
        return self.f_max


def domains_from_dict(raw, where='platform profile'):
    """Build the Domain list from a parsed profile mapping; raise PlatformError on problems."""
    if not isinstance(raw, dict) or not isinstance(raw.get('domains'), list) or not raw['domains']:
        raise PlatformError(f'{where}: expected a mapping with a non-empty "domains" list')
    out, seen = [], set()
    for i, item in enumerate(raw['domains']):
        if not isinstance(item, dict) or not isinstance(item.get('name'), str) or not item['name']:
            raise PlatformError(f'{where}: domain {i} needs a non-empty string name')
        name = item['name']
        if name in seen:
            raise PlatformError(f'{where}: duplicate domain {name!r}')
        seen.add(name)
        kind = item.get('kind')
        if kind not in KINDS:
            raise PlatformError(f'{where}: domain {name!r} kind {kind!r} not one of {KINDS}')
        try:
            freqs = sorted({int(f) for f in item.get('frequencies_khz') or []})
            cpus = tuple(int(c) for c in item.get('cpus') or [])
        except (TypeError, ValueError):
            raise PlatformError(f'{where}: domain {name!r} frequencies_khz/cpus must be integers')
        if not freqs or freqs[0] <= 0:
            raise PlatformError(f'{where}: domain {name!r} needs positive frequencies_khz')
        out.append(Domain(name, kind, cpus, tuple(freqs)))
    return out


def load_domains(path):
    """Load the domains of a platform profile YAML file."""
    raw = yaml_file.load(path, 'platform profile', PlatformError)
    return domains_from_dict(raw, f'platform profile {path}')
