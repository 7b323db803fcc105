"""Helpers for the hardware tests: fake trees, snapshots, running code without write permission."""

import json
import os
import shutil
import stat
import tempfile
import time

from dynofa_ros.core.fake_hardware import fake_sysfs
from support import REPO


XAVIER_PROFILE = os.path.join(REPO, 'config', 'platforms', 'jetson_xavier_nx.yaml')
GENERIC_PROFILE = os.path.join(REPO, 'config', 'platforms', 'generic_cpufreq.yaml')
NOBODY = 65534


def world_readable_tree(platform='jetson_xavier_nx', **kwargs):
    """Build a fake tree in a fresh directory every user can read (for unprivileged runs)."""
    root = tempfile.mkdtemp(prefix='dynofa_fake_sysfs_')
    os.chmod(root, 0o755)
    return fake_sysfs.build(root, platform, **kwargs)


def remove_tree(tree):
    shutil.rmtree(tree.root, ignore_errors=True)


def snapshot(root):
    """Return {relative path: content} of every regular file under root (symlinks not followed)."""
    files = {}
    for base, _, names in os.walk(root):
        for name in names:
            full = os.path.join(base, name)
            if os.path.isfile(full) and not os.path.islink(full):
                with open(full) as f:
                    files[os.path.relpath(full, root)] = f.read().strip()
    return files


def deny_writes(root):
    """Make every file under root read-only (stops writes for non-root users only)."""
    for base, _, names in os.walk(root):
        for name in names:
            full = os.path.join(base, name)
            if not os.path.islink(full):
                os.chmod(full, stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH)


def run_without_write_permission(root, func):
    """
    Run func() where the kernel itself refuses writes to the tree with EACCES; return its result.

    As root, chmod does not stop writes, so func runs in a forked child that switched to the
    'nobody' user (files are root-owned 0644). Otherwise the files are made 0444. Either way the
    real writer meets a real EACCES. func's result must be JSON-serialisable, and func must
    read nothing outside the tree: 'nobody' may not enter the checkout (a clone in a private
    folder), so load profiles and other files before calling this.
    """
    if os.geteuid() != 0:
        deny_writes(root)
        return func()
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:   # child
        os.close(read_fd)
        code = 0
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            payload = json.dumps({'result': func()})
        except BaseException as exc:  # noqa: B902 - report anything to the parent
            payload, code = json.dumps({'error': repr(exc)}), 1
        with os.fdopen(write_fd, 'w') as f:
            f.write(payload)
        os._exit(code)
    os.close(write_fd)
    with os.fdopen(read_fd) as f:
        data = json.loads(f.read() or '{"error": "child wrote nothing"}')
    os.waitpid(pid, 0)
    if 'error' in data:
        raise AssertionError(f'unprivileged child failed: {data["error"]}')
    return data['result']


def wait_until(predicate, timeout=15.0, what='condition'):
    """Poll predicate() every 50 ms (e.g. a fake tree's file); TimeoutError after timeout s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f'{what} not met after {timeout} s')
        time.sleep(0.05)
