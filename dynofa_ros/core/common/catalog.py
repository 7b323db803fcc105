"""
The sub-network catalog: which sub-networks of a supernet the system may run, and what each costs.

A catalog is a YAML file (config/catalogs/*.yaml). Each entry names an architecture of the
supernet (kernel sizes, expand ratios, depths, input resolution), its accuracy with provenance,
its MACs and its latency profiled per device and intra-op thread count. Entries are kept sorted
from the least to the most accurate, so index 0 is the fastest fallback.
"""

from dataclasses import dataclass, field
import math
import os
import platform

from dynofa_ros.core.common import yaml_file
from dynofa_ros.core.common.errors import ConfigError
import yaml

SUPERNETS = {
    # name: (blocks, stages, ks choices, expand choices, depth choices)
    'ofa_mbv3_d234_e346_k357_w1.0': (20, 5, (3, 5, 7), (3, 4, 6), (2, 3, 4)),
    'ofa_mbv3_d234_e346_k357_w1.2': (20, 5, (3, 5, 7), (3, 4, 6), (2, 3, 4)),
    'ofa_proxyless_d234_e346_k357_w1.3': (20, 5, (3, 5, 7), (3, 4, 6), (2, 3, 4)),
}

DEFAULT_CATALOG = 'config/catalogs/ofa_mbv3_w12_dynamic_ofa.yaml'  # the shipped catalog
HEADER = ('# Sub-network catalog; the format is described in docs/interfaces.md '
          '("Sub-network catalog").\n')


class CatalogError(ConfigError):
    """A catalog file or entry is missing, malformed or inconsistent with its supernet."""


@dataclass(frozen=True)
class Arch:
    """A sub-network architecture: per-block kernel size and expand ratio, per-stage depth."""

    ks: tuple
    e: tuple
    d: tuple
    r: int

    def as_dict(self):
        return {'ks': list(self.ks), 'e': list(self.e), 'd': list(self.d), 'r': self.r}


@dataclass
class Subnet:
    """One catalog entry."""

    id: str  # noqa: A003 - the catalog format calls it id
    index: int
    arch: Arch
    top1: float
    accuracy_source: str
    macs_m: float = float('nan')
    # profile key (e.g. 'cpu/x86_64/<model>@onnxruntime') -> {threads: milliseconds}
    latency_ms: dict = field(default_factory=dict)

    def latency(self, profile_key, threads):
        """
        Return the profiled latency in ms for a profile key and thread count, or None.

        A key without a backend (the format before backends) is torch's: 'X' and 'X@torch'
        find each other's table.
        """
        table = self.latency_ms.get(profile_key)
        if table is None:
            base, backend = split_key(profile_key)
            if backend == 'torch':
                table = self.latency_ms.get(base if '@' in profile_key else
                                            f'{base}@torch')
        return (table or {}).get(int(threads))


@dataclass
class Catalog:
    """A validated catalog with its entries sorted by accuracy, fastest first."""

    supernet: str
    subnets: list
    path: str = ''
    bn_stats: str = ''
    description: str = ''

    def ids(self):
        return [s.id for s in self.subnets]

    def get(self, subnet_id):
        """Return the entry with this id; raise KeyError naming the known ids."""
        for s in self.subnets:
            if s.id == subnet_id:
                return s
        raise KeyError(f'unknown sub-network {subnet_id!r}; catalog has {self.ids()}')

    def bn_stats_path(self):
        """Return the absolute path of the per-sub-network BN statistics file, or ''."""
        if not self.bn_stats:
            return ''
        return os.path.join(os.path.dirname(os.path.abspath(self.path)), self.bn_stats)

    def to_dict(self):
        out = {'supernet': self.supernet}
        if self.description:
            out['description'] = self.description
        out['bn_stats'] = self.bn_stats or None
        out['subnets'] = [{
            'id': s.id,
            'arch': s.arch.as_dict(),
            'accuracy': {'top1': s.top1, 'source': s.accuracy_source},
            'macs_m': None if math.isnan(s.macs_m) else round(s.macs_m, 2),
            'latency_ms': {k: {int(t): round(float(v), 3) for t, v in sorted(tbl.items())}
                           for k, tbl in sorted(s.latency_ms.items())},
        } for s in self.subnets]
        return out

    def save(self, path=None):
        path = path or self.path
        tmp = path + '.tmp'
        with open(tmp, 'w') as f:
            f.write(HEADER)
            yaml.safe_dump(self.to_dict(), f, sort_keys=False, default_flow_style=None, width=100)
        os.replace(tmp, path)


BACKENDS = ('torch', 'onnxruntime')


def default_backend():
    """Return the backend the perception node's backend 'auto' runs on this installation."""
    from importlib.util import find_spec
    return 'onnxruntime' if find_spec('onnxruntime') is not None else 'torch'


def profile_key(device='cpu', backend='auto'):
    """
    Return the latency-table key for this machine, device and inference backend.

    e.g. 'cpu/x86_64/<cpu>@onnxruntime'. torch keeps the key format from before backends
    ('cpu/x86_64/<cpu>'), so catalogs profiled then stay valid; 'auto' is the backend the
    perception node's default (backend: auto) runs here.
    """
    backend = default_backend() if backend == 'auto' else backend
    if backend not in BACKENDS:
        raise ValueError(f'backend {backend!r} is not one of {list(BACKENDS)}')
    model = _cpu_model() if device == 'cpu' else device
    base = f'{device}/{platform.machine()}/{model}'
    return base if backend == 'torch' else f'{base}@{backend}'


def split_key(key):
    """Return (machine part, backend) of a profile key; no '@backend' means torch."""
    base, _, backend = str(key).rpartition('@')
    if not base or backend not in BACKENDS:
        return str(key), 'torch'
    return base, backend


def _cpu_model():
    try:
        with open('/proc/cpuinfo') as f:
            for line in f:
                if line.lower().startswith(('model name', 'hardware')):
                    return ' '.join(line.split(':', 1)[1].split())
    except OSError:
        pass
    return platform.processor() or 'unknown'


def _check_arch(raw, supernet, where):
    if not isinstance(raw, dict):
        raise CatalogError(f'{where}: arch must be a mapping with ks, e, d, r')
    blocks, stages, ks_set, e_set, d_set = SUPERNETS[supernet]
    try:
        ks, e, d = (tuple(int(v) for v in raw[k]) for k in ('ks', 'e', 'd'))
        r = int(raw['r'])
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogError(f'{where}: arch needs integer lists ks, e, d and integer r ({exc})')
    if len(ks) != blocks or len(e) != blocks or len(d) != stages:
        raise CatalogError(
            f'{where}: expected {blocks} ks, {blocks} e and {stages} d values for {supernet}, '
            f'got {len(ks)}, {len(e)}, {len(d)}')
    for name, values, allowed in (('ks', ks, ks_set), ('e', e, e_set), ('d', d, d_set)):
        bad = sorted(set(values) - set(allowed))
        if bad:
            raise CatalogError(f'{where}: {name} values {bad} not in {list(allowed)}')
    if not 96 <= r <= 320 or r % 8:
        raise CatalogError(f'{where}: resolution {r} must be a multiple of 8 in [96, 320]')
    return Arch(ks, e, d, r)


def load(path):
    """Load and validate a catalog YAML file; raise CatalogError naming the file and problem."""
    raw = yaml_file.load(path, 'catalog', CatalogError)
    if not isinstance(raw, dict) or not isinstance(raw.get('subnets'), list):
        raise CatalogError(f'catalog {path}: expected a mapping with a "subnets" list')
    supernet = raw.get('supernet')
    if supernet not in SUPERNETS:
        raise CatalogError(
            f'catalog {path}: supernet {supernet!r} is not one of {sorted(SUPERNETS)}')
    if not raw['subnets']:
        raise CatalogError(f'catalog {path}: no sub-networks')
    entries, seen, archs = [], set(), {}
    for i, item in enumerate(raw['subnets']):
        where = f'catalog {path}, entry {i}'
        if not isinstance(item, dict) or not isinstance(item.get('id'), str) or not item['id']:
            raise CatalogError(f'{where}: each entry needs a non-empty string id')
        if item['id'] in seen:
            raise CatalogError(f'{where}: duplicate id {item["id"]!r}')
        seen.add(item['id'])
        where = f'catalog {path}, sub-network {item["id"]!r}'
        arch = _check_arch(item.get('arch'), supernet, where)
        if arch in archs:
            raise CatalogError(f'{where}: same architecture as {archs[arch]!r}')
        archs[arch] = item['id']
        acc = item.get('accuracy') or {}
        top1 = _number(acc.get('top1'), f'{where}: accuracy.top1')
        if not 0.0 <= top1 <= 100.0:
            raise CatalogError(f'{where}: accuracy.top1 {top1} outside [0, 100]')
        macs = item.get('macs_m')
        latency = {}
        for key, table in (item.get('latency_ms') or {}).items():
            if not isinstance(table, dict):
                raise CatalogError(f'{where}: latency_ms.{key} must map thread count to ms')
            latency[str(key)] = {
                int(t): _number(v, f'{where}: latency_ms.{key}.{t}', positive=True)
                for t, v in table.items()}
        entries.append(Subnet(
            id=item['id'], index=-1, arch=arch, top1=top1,
            accuracy_source=str(acc.get('source', 'unknown')),
            macs_m=float('nan') if macs is None else _number(macs, f'{where}: macs_m'),
            latency_ms=latency))
    entries.sort(key=lambda s: s.top1)
    for i, s in enumerate(entries):
        s.index = i
    return Catalog(supernet=supernet, subnets=entries, path=os.path.abspath(path),
                   bn_stats=str(raw.get('bn_stats') or ''),
                   description=str(raw.get('description') or ''))


def _number(value, what, positive=False):
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CatalogError(f'{what} must be a number, got {value!r}')
    if not math.isfinite(number) or (positive and number <= 0):
        raise CatalogError(f'{what} must be a finite{" positive" if positive else ""} number')
    return number
