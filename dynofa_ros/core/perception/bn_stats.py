"""
Per-sub-network BatchNorm statistics: calibrate once, store in a file, swap in on a switch.

Sub-networks share the supernet's weights but not their activation statistics, so each one
gets its own BN running mean/var, computed on an extracted static copy (on the supernet it
would overwrite buffers all sub-networks share). Statistics are keyed by the static
sub-network's BN module names; SupernetBnSwap maps them onto the supernet's shared buffers
for the dynamic execution path.
"""

from dataclasses import dataclass, field

from dynofa_ros.core.perception.supernet import active_block_indices, EngineError, extract

FORMAT = 'dynofa_ros.bn_stats/1'


def collect(static_net):
    """Return {module name: (running_mean, running_var)} of a static net's BN layers (copies)."""
    import torch.nn as nn
    return {name: (m.running_mean.detach().clone(), m.running_var.detach().clone())
            for name, m in static_net.named_modules() if isinstance(m, nn.BatchNorm2d)}


def calibrate(supernet, arch, batches):
    """
    Compute the BN statistics of sub-network `arch` over image batches (N x 3 x r x r tensors).

    `batches` is any iterable, read once. Runs on an extracted static copy; the supernet's
    buffers are left untouched (only its active sub-network setting changes).
    """
    from ofa.imagenet_classification.elastic_nn.utils import set_running_statistics
    static = extract(supernet, arch)
    set_running_statistics(static, ((batch, None) for batch in batches))
    return collect(static)


def load_into_static(static_net, stats, where='BN statistics'):
    """Copy statistics into a static sub-network's BN layers; EngineError if they do not fit."""
    import torch
    import torch.nn as nn
    layers = {n: m for n, m in static_net.named_modules() if isinstance(m, nn.BatchNorm2d)}
    if set(layers) != set(stats):
        raise EngineError(f'{where}: BN layers do not match the sub-network '
                          f'({len(stats)} stored, {len(layers)} in the network)')
    with torch.no_grad():
        for name, (mean, var) in stats.items():
            bn = layers[name]
            if bn.running_mean.shape != mean.shape:
                raise EngineError(f'{where}: {name} has {tuple(mean.shape)} values, the '
                                  f'sub-network needs {tuple(bn.running_mean.shape)}')
            bn.running_mean.copy_(mean)
            bn.running_var.copy_(var)


@dataclass
class BnStatsFile:
    """The contents of a BN statistics file: per sub-network id, its arch and statistics."""

    supernet: str
    subnets: dict = field(default_factory=dict)   # id -> {'arch': dict, 'bn': {name: (m, v)}}
    images: int = 0
    source: str = ''

    def save(self, path):
        import torch
        blob = {'format': FORMAT, 'supernet': self.supernet, 'images': self.images,
                'source': self.source,
                'subnets': {sid: {'arch': e['arch'],
                                  'bn': {n: {'mean': m, 'var': v} for n, (m, v) in
                                         e['bn'].items()}}
                            for sid, e in self.subnets.items()}}
        torch.save(blob, path)

    @classmethod
    def load(cls, path):
        """Read a file written by save(); EngineError naming the path if it is not one."""
        import torch
        try:
            blob = torch.load(path, map_location='cpu', weights_only=True)
        except FileNotFoundError:
            raise EngineError(f'BN statistics file {path} not found')
        except Exception as exc:  # noqa: B902 - torch raises many types for a corrupt file
            raise EngineError(f'BN statistics file {path} is not readable: {exc}')
        if not isinstance(blob, dict) or blob.get('format') != FORMAT:
            raise EngineError(f'{path} is not a BN statistics file (expected format {FORMAT})')
        try:
            subnets = {sid: {'arch': e['arch'],
                             'bn': {n: (s['mean'], s['var']) for n, s in e['bn'].items()}}
                       for sid, e in blob['subnets'].items()}
        except (KeyError, TypeError, AttributeError) as exc:
            raise EngineError(f'BN statistics file {path} is malformed ({exc!r})')
        return cls(blob['supernet'], subnets, int(blob.get('images', 0)),
                   str(blob.get('source', '')))

    def for_catalog(self, catalog, path=''):
        """
        Return ({subnet id: stats} for catalog entries with matching stored arch, [warnings]).

        A supernet mismatch is an error; entries missing or calibrated for another arch are
        reported as warnings (they run with the checkpoint's statistics).
        """
        if self.supernet != catalog.supernet:
            raise EngineError(f'BN statistics file {path} is for {self.supernet}, the catalog '
                              f'is for {catalog.supernet}')
        found, warnings = {}, []
        for subnet in catalog.subnets:
            entry = self.subnets.get(subnet.id)
            if entry is None:
                warnings.append(f'no BN statistics for {subnet.id} in {path}')
            elif entry['arch'] != subnet.arch.as_dict():
                warnings.append(f'BN statistics for {subnet.id} in {path} were calibrated for '
                                'a different architecture; ignored')
            else:
                found[subnet.id] = entry['bn']
        return found, warnings


class SupernetBnSwap:
    """Swap per-sub-network BN statistics into a supernet's shared buffers (dynamic path)."""

    def __init__(self, supernet, original=None):
        """Wrap a supernet; `original` (collect() of it before any swap) defaults to now."""
        import torch.nn as nn
        self._net = supernet
        self._bn = {n: m for n, m in supernet.named_modules() if isinstance(m, nn.BatchNorm2d)}
        original = original or collect(supernet)
        self._original = _split([(m.running_mean, m.running_var,
                                  original[n][0].to(m.running_mean.device),
                                  original[n][1].to(m.running_mean.device))
                                 for n, m in self._bn.items()])
        self._plans = {}

    def prepare(self, subnet_id, arch, stats):
        """Precompute the copies that install `stats` for a sub-network (done once per id)."""
        blocks = active_block_indices(self._net, arch)
        plan = []
        for name, (mean, var) in stats.items():
            parts = name.split('.')
            if parts[0] == 'blocks':
                parts[1] = str(blocks[int(parts[1])])
            target = '.'.join(parts)
            bn = self._bn.get(target) or self._bn.get(target + '.bn')
            if bn is None or bn.running_mean.numel() < mean.numel():
                raise EngineError(f'BN statistics of {subnet_id}: layer {name} does not fit '
                                  'the supernet')
            n = mean.numel()
            device = bn.running_mean.device
            plan.append((bn.running_mean[:n], bn.running_var[:n], mean.to(device),
                         var.to(device)))
        self._plans[subnet_id] = _split(plan)

    def has(self, subnet_id):
        return subnet_id in self._plans

    def apply(self, subnet_id):
        """Install a sub-network's statistics, or the checkpoint's if it has none."""
        import torch
        destinations, sources = self._plans.get(subnet_id, self._original)
        with torch.no_grad():
            torch._foreach_copy_(destinations, sources)     # one call instead of ~120 copies


def _split(plan):
    """Turn [(dst_mean, dst_var, mean, var)] into ([destinations], [sources])."""
    destinations = [t for dst_mean, dst_var, _, _ in plan for t in (dst_mean, dst_var)]
    sources = [t for _, _, mean, var in plan for t in (mean, var)]
    return destinations, sources
