"""
The DVFS state file: the settings found at start, kept on disk until a clean restore.

Before its first write the hardware node saves the start settings of every domain it may write
(docs/nodes.md, "Crash-safe DVFS"). A clean restore removes the file; a file left behind means a
run ended without restoring (SIGKILL, OOM kill, segfault), and the next start or
`hardware_node --restore` puts those settings back. One file per sysfs_root, written atomically
(temporary file, fsync, rename, fsync of the directory). A file that does not parse, is not
ours, or names an attribute outside the allow-list is refused with a reason and nothing is
written.
"""

import hashlib
import json
import os
import tempfile
import time

from dynofa_ros.core.common.errors import ConfigError
from dynofa_ros.core.hardware.sysfs import check_relative, WRITABLE
from dynofa_ros.core.platforms.profiles import GOVERNOR_RE, NAME_RE

FORMAT = 'dynofa_ros/dvfs_state'
VERSION = 1
SYSTEM_DIR = '/run/dynofa_ros'
MAX_BYTES = 1 << 20


class StateFileError(ConfigError):
    """A DVFS state file that cannot be trusted (corrupt, foreign, or unreadable)."""


def default_state_dir(env=None, uid=None):
    """
    Return where state files live when the state_dir parameter is empty.

    /run/dynofa_ros when this process may create or write it (root; a systemd unit with
    RuntimeDirectory=dynofa_ros), else $XDG_RUNTIME_DIR/dynofa_ros, else /tmp/dynofa_ros-<uid>.
    The same rule in the node and in `hardware_node --restore` finds the same file.
    """
    env = os.environ if env is None else env
    uid = os.geteuid() if uid is None else uid
    if os.path.isdir(SYSTEM_DIR):
        if os.access(SYSTEM_DIR, os.W_OK | os.X_OK):
            return SYSTEM_DIR
    elif os.access(os.path.dirname(SYSTEM_DIR), os.W_OK | os.X_OK):
        return SYSTEM_DIR
    if env.get('XDG_RUNTIME_DIR'):
        return os.path.join(env['XDG_RUNTIME_DIR'], 'dynofa_ros')
    return f'/tmp/dynofa_ros-{uid}'


def file_name(sysfs_root):
    """Return the state file name of a sysfs root (one file per root)."""
    digest = hashlib.sha256(os.path.realpath(sysfs_root).encode()).hexdigest()[:16]
    return f'dvfs_state-{digest}.json'


def _check_value(attr, value, where):
    if not isinstance(value, str) or not value:
        raise StateFileError(f'{where}: {attr} must be a non-empty string')
    if attr.endswith('governor'):
        if not GOVERNOR_RE.match(value):
            raise StateFileError(f'{where}: {attr} {value[:40]!r} is not a governor name')
    elif not (value.isdigit() and len(value) <= 20) and not (
            attr == 'scaling_setspeed' and value == '<unsupported>'):
        raise StateFileError(f'{where}: {attr} {value[:40]!r} is not a frequency')


def validate(data, sysfs_root, where):
    """Return {domain: (kind, path, {attr: value})} from a parsed file; raise StateFileError."""
    if not isinstance(data, dict) or data.get('format') != FORMAT:
        raise StateFileError(f'{where}: not a dynofa_ros DVFS state file (format is not {FORMAT})')
    if data.get('version') != VERSION:
        raise StateFileError(f'{where}: version {data.get("version")!r}, this node reads '
                             f'{VERSION}')
    root = os.path.realpath(sysfs_root)
    if data.get('sysfs_root') != root:
        raise StateFileError(f'{where}: saved for sysfs_root {data.get("sysfs_root")!r}, '
                             f'not {root!r}')
    domains = data.get('domains')
    if not isinstance(domains, dict) or not domains:
        raise StateFileError(f'{where}: no domains')
    out = {}
    for name, entry in domains.items():
        here = f'{where}: domain {str(name)[:40]!r}'
        if not isinstance(name, str) or not NAME_RE.match(name) or not isinstance(entry, dict):
            raise StateFileError(f'{here}: bad name or entry')
        kind = entry.get('kind')
        if kind not in WRITABLE:
            raise StateFileError(f'{here}: kind {kind!r} is not cpufreq or devfreq')
        try:
            path = check_relative(entry.get('path'))
        except ValueError as exc:
            raise StateFileError(f'{here}: {exc}') from None
        original = entry.get('original')
        if not isinstance(original, dict) or not original:
            raise StateFileError(f'{here}: no original settings')
        for attr, value in original.items():
            if attr not in WRITABLE[kind]:
                raise StateFileError(f'{here}: attribute {str(attr)[:40]!r} is not allow-listed '
                                     f'for {kind}')
            _check_value(attr, value, here)
        out[name] = (kind, path, dict(original))
    return out


class StateFile:
    """The state file of one sysfs root in one directory."""

    def __init__(self, state_dir, sysfs_root):
        self.dir = state_dir
        self.sysfs_root = os.path.realpath(sysfs_root)
        self.path = os.path.join(state_dir, file_name(sysfs_root))

    def exists(self):
        return os.path.lexists(self.path)

    def load(self):
        """Return the validated {domain: (kind, path, original)} and the file's metadata."""
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW)
            with os.fdopen(fd, 'rb') as f:
                raw = f.read(MAX_BYTES + 1)
        except OSError as exc:
            raise StateFileError(f'state file {self.path}: {exc.strerror}') from None
        if len(raw) > MAX_BYTES:
            raise StateFileError(f'state file {self.path}: larger than {MAX_BYTES} bytes')
        try:
            data = json.loads(raw.decode())
        except (UnicodeDecodeError, ValueError) as exc:
            raise StateFileError(f'state file {self.path}: not valid JSON ({exc})') from None
        domains = validate(data, self.sysfs_root, f'state file {self.path}')
        meta = {'pid': data.get('pid'), 'saved_at': data.get('saved_at')}
        return domains, meta

    def save(self, domains):
        """Write {name: (kind, path, original)} atomically; raise OSError on failure."""
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        data = {'format': FORMAT, 'version': VERSION, 'sysfs_root': self.sysfs_root,
                'pid': os.getpid(), 'saved_at': time.time(),
                'domains': {name: {'kind': kind, 'path': path, 'original': dict(original)}
                            for name, (kind, path, original) in domains.items()}}
        fd, tmp = tempfile.mkstemp(prefix='.dvfs_state-', dir=self.dir)
        try:
            with os.fdopen(fd, 'w') as f:
                json.dump(data, f, indent=1, sort_keys=True)
                f.flush()
                os.fsync(f.fileno())
            os.rename(tmp, self.path)
        except BaseException:
            if os.path.lexists(tmp):
                os.unlink(tmp)
            raise
        _fsync_dir(self.dir)

    def remove(self):
        """Remove the file (after a clean restore); a missing file is fine."""
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            return
        _fsync_dir(self.dir)


def _fsync_dir(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
