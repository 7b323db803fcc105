"""
Contained, allow-listed access to sysfs under a root directory (the real '/' or a fake tree).

Every path is built from a platform profile's relative directory and an attribute name from the
allow-lists below; nothing received in a message ever becomes part of a path. Writes never create
files (no O_CREAT) and use one write() call, as sysfs requires.
"""

import errno
import os
import posixpath

from dynofa_ros.core.common.errors import ConfigFileNotFound

CPUFREQ_WRITABLE = frozenset((
    'scaling_governor', 'scaling_min_freq', 'scaling_max_freq', 'scaling_setspeed'))
CPUFREQ_READABLE = CPUFREQ_WRITABLE | frozenset((
    'scaling_available_frequencies', 'scaling_available_governors', 'scaling_cur_freq',
    'cpuinfo_cur_freq', 'cpuinfo_min_freq', 'cpuinfo_max_freq', 'related_cpus',
    'affected_cpus', 'scaling_driver'))
DEVFREQ_WRITABLE = frozenset(('governor', 'min_freq', 'max_freq'))
DEVFREQ_READABLE = DEVFREQ_WRITABLE | frozenset((
    'available_frequencies', 'available_governors', 'cur_freq', 'target_freq'))
WRITABLE = {'cpufreq': CPUFREQ_WRITABLE, 'devfreq': DEVFREQ_WRITABLE}
READABLE = {'cpufreq': CPUFREQ_READABLE, 'devfreq': DEVFREQ_READABLE}

# errno -> the short reason reported to the operator.
_REASONS = {
    errno.EACCES: 'permission denied',
    errno.EPERM: 'permission denied',
    errno.EBUSY: 'device busy',
    errno.EROFS: 'read-only file system',
    errno.ENOENT: 'attribute missing',
    errno.EISDIR: 'not an attribute (a directory)',
    errno.EINVAL: 'value refused by the kernel',
    errno.ENODEV: 'device gone',
}
NO_PERMISSION = frozenset((errno.EACCES, errno.EPERM, errno.EROFS))


class SysfsError(Exception):
    """A refused path or a failed read/write; `errno` is set when the kernel refused it."""

    def __init__(self, message, err=None, path=''):
        super().__init__(message)
        self.errno = err
        self.path = path

    @property
    def no_permission(self):
        return self.errno in NO_PERMISSION


def check_relative(rel):
    """Return a normalised profile path relative to the root; refuse absolute paths and '..'."""
    if not isinstance(rel, str) or not rel:
        raise ValueError(f'sysfs path must be a non-empty string, got {rel!r}')
    norm = posixpath.normpath(rel)
    if rel.startswith('/') or norm.startswith('..') or '/../' in f'/{rel}/':
        raise ValueError(f'sysfs path {rel!r} must be relative to sysfs_root and without ..')
    if not (norm == 'sys' or norm.startswith('sys/')):
        raise ValueError(f'sysfs path {rel!r} must lie under sys/')
    return norm


class Sysfs:
    """Read and write sysfs attributes below `root`."""

    def __init__(self, root='/'):
        if not os.path.isdir(root):
            raise ConfigFileNotFound(f'sysfs_root {root!r} is not a directory')
        self.root = os.path.realpath(root)

    def path(self, rel):
        """Return the absolute path of a profile-relative path, refusing escapes from the root."""
        full = os.path.join(self.root, check_relative(rel))
        real = os.path.realpath(full)
        if os.path.commonpath([real, self.root]) != self.root:
            raise SysfsError(f'{rel!r} resolves outside sysfs_root ({real})', path=full)
        return real

    def attribute(self, rel_dir, kind, attr, write=False):
        """Return the path of an allow-listed attribute of a cpufreq/devfreq directory."""
        allowed = (WRITABLE if write else READABLE).get(kind, frozenset())
        if attr not in allowed:
            raise SysfsError(f'attribute {attr!r} is not allow-listed for {kind} '
                             f'{"writes" if write else "reads"}')
        return self.path(posixpath.join(rel_dir, attr))

    def read(self, rel_dir, kind, attr):
        """Read an allow-listed attribute; return its stripped text."""
        return self.read_file(self.attribute(rel_dir, kind, attr))

    def write(self, rel_dir, kind, attr, value):
        """Write one allow-listed attribute; raise SysfsError with a short reason on failure."""
        path = self.attribute(rel_dir, kind, attr, write=True)
        data = str(value).encode()
        try:
            self._raw_write(path, data)
        except OSError as exc:
            reason = _REASONS.get(exc.errno, os.strerror(exc.errno or errno.EIO))
            raise SysfsError(f'writing {value} to {path}: {reason}', exc.errno, path) from exc

    def writable(self, rel_dir, kind, attr):
        """Return whether this process may write the attribute (False when it is missing)."""
        path = self.attribute(rel_dir, kind, attr, write=True)
        return os.path.isfile(path) and os.access(path, os.W_OK)

    @staticmethod
    def read_file(path):
        """Read a sysfs file by absolute path; raise SysfsError with a short reason."""
        try:
            with open(path) as f:
                return f.read().strip()
        except OSError as exc:
            reason = _REASONS.get(exc.errno, os.strerror(exc.errno or errno.EIO))
            raise SysfsError(f'reading {path}: {reason}', exc.errno, path) from exc

    @staticmethod
    def _raw_write(path, data):
        """Write bytes in one call; the one place that touches the kernel (tests may wrap it)."""
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)
