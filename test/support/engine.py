"""Helpers for the engine and tool tests: a tiny catalog, a fresh checkpoint, real photos."""

import copy
import os

import yaml

SUPERNET = 'ofa_mbv3_d234_e346_k357_w1.2'
# Three published Dynamic-OFA architectures (nets_7: n7_0, n7_3, n7_6) at small resolutions.
ARCHS = {
    'small': {'ks': [5, 7, 7, 7, 3, 5, 5, 7, 7, 7, 5, 3, 5, 3, 3, 7, 3, 3, 7, 7],
              'e': [6, 4, 4, 6, 4, 3, 6, 4, 6, 4, 4, 6, 4, 6, 4, 6, 4, 3, 3, 4],
              'd': [3, 2, 3, 2, 2], 'r': 128},
    'mid': {'ks': [7, 3, 5, 3, 5, 7, 3, 3, 5, 5, 5, 7, 7, 7, 5, 5, 3, 3, 3, 7],
            'e': [6, 6, 3, 3, 4, 4, 3, 3, 6, 4, 4, 4, 6, 4, 4, 6, 4, 6, 3, 3],
            'd': [2, 3, 3, 3, 4], 'r': 144},
    'large': {'ks': [5, 5, 5, 7, 7, 3, 3, 3, 7, 7, 7, 7, 7, 5, 5, 7, 3, 3, 5, 5],
              'e': [6, 4, 4, 4, 4, 3, 6, 3, 6, 4, 4, 6, 6, 4, 3, 4, 4, 6, 6, 4],
              'd': [3, 3, 4, 4, 3], 'r': 160},
}
TOP1 = {'small': 70.0, 'mid': 72.0, 'large': 74.0}
PHOTOS = ('astronaut', 'chelsea', 'coffee')


def catalog_dict(ids=('small', 'mid', 'large'), bn_stats=None):
    return {'supernet': SUPERNET, 'bn_stats': bn_stats, 'subnets': [
        {'id': i, 'arch': copy.deepcopy(ARCHS[i]),
         'accuracy': {'top1': TOP1[i], 'source': 'test: not measured'},
         'macs_m': None, 'latency_ms': {}} for i in ids]}


def write_catalog(directory, ids=('small', 'mid', 'large'), name='tiny.yaml', **overrides):
    """Write a tiny catalog YAML; return its path."""
    data = catalog_dict(ids)
    data.update(overrides)
    path = os.path.join(str(directory), name)
    with open(path, 'w') as f:
        yaml.safe_dump(data, f, sort_keys=False)
    return path


def save_fresh_checkpoint(path, name=SUPERNET, seed=0, calibrate=True, logit_scale=300.0):
    """
    Build a supernet with seeded random weights, save it in OFA's format; return the net.

    With calibrate, the full network's BN statistics are first set from the photos and the
    classifier's weights are scaled up (by logit_scale): in a fresh supernet the activations'
    dependence on the input fades layer by layer, so every image would give the same
    near-uniform output and comparisons between outputs would prove little. A scale of 30 gives
    logits of the size a trained ImageNet classifier gives (about 10 to 20).
    """
    import numpy as np
    import torch
    from dynofa_ros.core.images.preprocess import preprocess
    from dynofa_ros.core.perception.supernet import build_supernet, save_checkpoint
    torch.manual_seed(seed)
    net = build_supernet(name)
    if calibrate:
        from ofa.imagenet_classification.elastic_nn.utils import set_running_statistics
        net.set_max_net()
        batch = torch.from_numpy(np.concatenate([preprocess(im, 160) for im in photos()]))
        set_running_statistics(net, [(batch, None)])
        with torch.no_grad():
            net.classifier.linear.weight.mul_(logit_scale)
    save_checkpoint(net, str(path))
    return net


def photos(size=160):
    """Return scikit-image's bundled photos as RGB uint8, shorter side `size`."""
    import cv2
    import skimage.data
    out = []
    for name in PHOTOS:
        image = getattr(skimage.data, name)()
        scale = size / min(image.shape[:2])
        out.append(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA))
    return out


def write_photos(directory, count=3):
    """Write `count` photos as PNG files into directory; return the directory."""
    import cv2
    os.makedirs(str(directory), exist_ok=True)
    for name, image in zip(PHOTOS, photos()[:count]):
        cv2.imwrite(os.path.join(str(directory), name + '.png'),
                    cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return str(directory)


def calibrated_catalog(tmp, seed):
    """
    Write a checkpoint, a two-entry catalog (small, mid) and BN statistics calibrated on photos.

    Return (checkpoint path, the loaded supernet, the catalog, the BnStatsFile, the photos); the
    first photo is left out of the calibration, for the tests to classify.
    """
    import numpy as np
    import torch
    from dynofa_ros.core.common import catalog as catalog_mod
    from dynofa_ros.core.images.preprocess import preprocess
    from dynofa_ros.core.perception.bn_stats import BnStatsFile, calibrate
    from dynofa_ros.core.perception.supernet import build_supernet, load_checkpoint
    checkpoint = os.path.join(str(tmp), 'w12.pth')
    save_fresh_checkpoint(checkpoint, seed=seed)
    supernet = load_checkpoint(build_supernet(SUPERNET), checkpoint, SUPERNET)
    catalog = catalog_mod.load(write_catalog(tmp, ids=('small', 'mid'), bn_stats='tiny.bn.pt'))
    stats = BnStatsFile(SUPERNET, images=2, source='test photos')
    images = photos()
    for subnet in catalog.subnets:
        batch = torch.from_numpy(np.concatenate(
            [preprocess(im, subnet.arch.r) for im in images[1:]]))
        stats.subnets[subnet.id] = {'arch': subnet.arch.as_dict(),
                                    'bn': calibrate(supernet, subnet.arch, [batch])}
    stats.save(catalog.bn_stats_path())
    return checkpoint, supernet, catalog, stats, images
