"""
Build OFA supernets, load their checkpoints and extract static sub-networks.

Only the MobileNetV3 and ProxylessNAS supernets are supported: their sub-networks are described
by per-block kernel sizes and expand ratios plus per-stage depths, which is what the catalog
holds (dynofa_ros.core.common.catalog). OFA's ResNet50 uses a different architecture space.
"""

import copy
import os

SUPERNET_ARGS = {
    # name: (OFA class name, width multiplier); kernel 3/5/7, expand 3/4/6, depth 2/3/4 for all.
    'ofa_mbv3_d234_e346_k357_w1.0': ('OFAMobileNetV3', 1.0),
    'ofa_mbv3_d234_e346_k357_w1.2': ('OFAMobileNetV3', 1.2),
    'ofa_proxyless_d234_e346_k357_w1.3': ('OFAProxylessNASNets', 1.3),
}


class EngineError(RuntimeError):
    """A checkpoint, BN statistics file or mapping that the engine cannot use."""


def build_supernet(name):
    """Build the named OFA supernet with random weights, in eval mode."""
    if name not in SUPERNET_ARGS:
        raise EngineError(f'unsupported supernet {name!r}; supported: {sorted(SUPERNET_ARGS)}')
    from ofa.imagenet_classification.elastic_nn import networks
    cls_name, width = SUPERNET_ARGS[name]
    cls = getattr(networks, cls_name)
    net = cls(dropout_rate=0, width_mult=width, ks_list=[3, 5, 7],
              expand_ratio_list=[3, 4, 6], depth_list=[2, 3, 4])
    return net.eval()


def save_checkpoint(net, path):
    """Save a supernet's weights in OFA's checkpoint format ({'state_dict': ...})."""
    import torch
    torch.save({'state_dict': net.state_dict()}, path)


def load_checkpoint(net, path, name):
    """
    Load an OFA-format checkpoint into a supernet built for `name`.

    Raises EngineError naming the path and what was expected when the file is missing, is not
    a readable checkpoint, or holds weights of a different architecture.
    """
    import torch
    if not os.path.isfile(path):
        raise EngineError(f'checkpoint {path} not found (expected an OFA {name} checkpoint)')
    try:
        blob = torch.load(path, map_location='cpu', weights_only=True)
    except Exception as exc:  # noqa: B902 - torch raises many types for a corrupt file
        raise EngineError(
            f'checkpoint {path} is not a readable torch file (expected an OFA {name} '
            f"checkpoint {{'state_dict': ...}}): {type(exc).__name__}: {exc}")
    if isinstance(blob, dict) and isinstance(blob.get('state_dict'), dict):
        state = blob['state_dict']
    elif isinstance(blob, dict) and blob and all(torch.is_tensor(v) for v in blob.values()):
        state = blob
    else:
        raise EngineError(
            f"checkpoint {path} has no 'state_dict' (expected OFA's format "
            f"{{'state_dict': ...}} for {name})")
    try:
        net.load_state_dict(state)
    except (RuntimeError, ValueError, AssertionError, KeyError) as exc:
        first = str(exc).strip().splitlines()[:3]
        raise EngineError(
            f'checkpoint {path} does not fit supernet {name} (wrong architecture?): '
            + ' | '.join(first))
    return net.eval()


def apply_arch(net, arch):
    """Make `arch` (a catalog Arch) the active sub-network of a supernet."""
    net.set_active_subnet(ks=list(arch.ks), e=list(arch.e), d=list(arch.d))


def active_block_indices(net, arch):
    """Return the supernet block index of each block of the extracted sub-network, in order."""
    indices = [0]
    for stage, depth in zip(net.block_group_info, arch.d):
        indices.extend(stage[:depth])
    # Stages beyond the arch's depth list (ProxylessNAS's last, fixed stage) run in full.
    for stage in net.block_group_info[len(arch.d):]:
        indices.extend(stage[:len(stage)])
    return indices


def extract(net, arch):
    """
    Return a static copy of sub-network `arch` of supernet `net`, in eval mode.

    This changes the supernet's active sub-network; callers that run the supernet concurrently
    must extract from a shadow (see shadow_copy).
    """
    apply_arch(net, arch)
    return net.get_active_subnet(preserve_weight=True).eval()


def shadow_copy(net):
    """Return a copy of `net` that shares its weights but has its own buffers and settings."""
    memo = {id(p): p for p in net.parameters()}
    return copy.deepcopy(net, memo)


def module_bytes(net):
    """Return the bytes held by a module's parameters and buffers."""
    tensors = list(net.parameters()) + list(net.buffers())
    return sum(t.numel() * t.element_size() for t in tensors)


def count_macs(static_net, resolution):
    """Return the MACs (millions) of an extracted static sub-network at a resolution."""
    from ofa.utils import count_net_flops
    return count_net_flops(static_net, (1, 3, resolution, resolution)) / 1e6
