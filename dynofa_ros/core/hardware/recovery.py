"""
Restore the start settings a previous run left in its state file (it ended without restoring).

Used by the hardware node at start (before it probes, so that what it then finds is the real
start state) and by `hardware_node --restore` (systemd ExecStopPost=, or by hand).
"""

from dataclasses import dataclass, field
import glob
import json
import os

from dynofa_ros.core.hardware import dvfs_state
from dynofa_ros.core.hardware.dvfs_writer import DvfsWriter
from dynofa_ros.core.hardware.sysfs import Sysfs, SysfsError
from dynofa_ros.core.platforms.probe import probe_domain
from dynofa_ros.core.platforms.profiles import Domain


@dataclass
class Recovery:
    """What a restore from a state file did."""

    path: str
    saved: dict = field(default_factory=dict)      # {name: (kind, path, original)}
    meta: dict = field(default_factory=dict)
    restored: list = field(default_factory=list)   # domain names back to their start settings
    failed: list = field(default_factory=list)     # 'name: reason'

    @property
    def ok(self):
        return not self.failed

    def summary(self):
        who = f'pid {self.meta.get("pid")}' if self.meta.get('pid') else 'a previous run'
        text = (f'{who} did not restore DVFS (state file {self.path} left behind): restored '
                f'{", ".join(self.restored) or "nothing"}')
        if self.failed:
            text += '; FAILED ' + '; '.join(self.failed) + ' (state file kept)'
        else:
            text += ', state file removed'
        return text


def restore_from_file(sysfs, state, logger=None):
    """
    Restore the domains saved in `state` (a StateFile); return a Recovery, or None (no file).

    Raise StateFileError (nothing written) when the file cannot be trusted. The file is removed
    only when every domain was restored.
    """
    if not state.exists():
        return None
    saved, meta = state.load()
    result = Recovery(state.path, saved, meta)
    domains = []
    for name, (kind, path, original) in sorted(saved.items()):
        try:
            domain = probe_domain(sysfs, Domain(name, kind, path=path))
        except SysfsError as exc:
            result.failed.append(f'{name}: {exc}')
            continue
        domain.original = dict(original)
        domains.append(domain)
    writer = DvfsWriter(sysfs, domains, logger=logger)
    for domain, outcome in zip(domains, writer.restore([d.name for d in domains])):
        if outcome.ok:
            result.restored.append(domain.name)
        else:
            result.failed.append(f'{domain.name}: {outcome.message}')
    if result.ok:
        state.remove()
    return result


def restore_all(state_dir, sysfs_roots=None, logger=None):
    """
    Restore every state file in state_dir (or those of the given sysfs roots).

    Return [(path, Recovery or StateFileError)]: one entry per file found.
    """
    results = []
    if sysfs_roots:
        files = [dvfs_state.StateFile(state_dir, root) for root in sysfs_roots]
    else:
        files = []
        for path in sorted(glob.glob(os.path.join(state_dir, 'dvfs_state-*.json'))):
            files.append(_file_from(path, state_dir))
    for state in files:
        if isinstance(state, dvfs_state.StateFileError):
            results.append((state.path, state))
            continue
        if not state.exists():
            continue
        try:
            results.append((state.path, restore_from_file(Sysfs(state.sysfs_root), state,
                                                          logger)))
        except (dvfs_state.StateFileError, OSError, ValueError) as exc:
            results.append((state.path, exc))
    return results


def _file_from(path, state_dir):
    """Return the StateFile of a file found by name (its sysfs_root read from it)."""
    try:
        with open(path) as f:
            root = json.load(f).get('sysfs_root')
    except (OSError, ValueError, AttributeError) as exc:
        error = dvfs_state.StateFileError(f'state file {path}: cannot read it ({exc})')
        error.path = path
        return error
    if not isinstance(root, str) or dvfs_state.file_name(root) != os.path.basename(path):
        error = dvfs_state.StateFileError(f'state file {path}: its sysfs_root {root!r} does not '
                                          'match its name: not restored')
        error.path = path
        return error
    return dvfs_state.StateFile(state_dir, root)
