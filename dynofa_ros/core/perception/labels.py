"""ImageNet-1k class names (from torchvision's bundled weight metadata) and top-k lookup."""

import numpy as np


def _load_labels():
    from torchvision.models import MobileNet_V3_Large_Weights
    return list(MobileNet_V3_Large_Weights.IMAGENET1K_V1.meta['categories'])


IMAGENET_LABELS = _load_labels()


def top_k(probs, k=5):
    """Return (class ids, labels, scores) of the k highest probabilities, best first."""
    probs = np.asarray(probs, dtype=np.float32).reshape(-1)
    if probs.size != len(IMAGENET_LABELS):
        raise ValueError(f'expected {len(IMAGENET_LABELS)} probabilities, got {probs.size}')
    k = max(0, min(int(k), probs.size))
    ids = np.argsort(-probs, kind='stable')[:k]
    return ([int(i) for i in ids], [IMAGENET_LABELS[i] for i in ids],
            [float(probs[i]) for i in ids])
