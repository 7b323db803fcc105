"""Name the machine for diagnostics' hardware_id: device-tree model, DMI product or arch."""

import functools
import os
import platform


def _read(path):
    try:
        with open(path, 'rb') as f:
            return f.read().replace(b'\x00', b' ').decode('utf-8', 'replace').strip()
    except OSError:
        return ''


def board_model(root='/'):
    """
    Return the board's model name as the kernel reports it.

    The device-tree model on ARM boards (e.g. 'NVIDIA Jetson Xavier NX Developer Kit'), the DMI
    vendor and product on PCs, and 'unknown <arch> machine' where neither exists (containers).
    """
    model = _read(os.path.join(root, 'proc/device-tree/model'))
    if model:
        return model
    dmi = os.path.join(root, 'sys/class/dmi/id')
    vendor = _read(os.path.join(dmi, 'sys_vendor'))
    product = _read(os.path.join(dmi, 'product_name'))
    if product:
        return f'{vendor} {product}'.strip() if vendor and vendor not in product else product
    return f'unknown {platform.machine() or "cpu"} machine'


@functools.lru_cache(maxsize=None)
def hardware_id():
    """Return the board model of this machine, read once (it does not change while running)."""
    return board_model()
