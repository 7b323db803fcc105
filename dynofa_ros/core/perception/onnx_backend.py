"""
The ONNX Runtime backend: export a static sub-network to ONNX once, run it in a session.

A sub-network is exported with its own calibrated BN statistics folded in (they are buffers of
the extracted static network) by torch's TorchScript-based exporter (`dynamo=False`: it needs
neither onnxscript nor a network connection). The file is cached on disk under a key of the
supernet's weights, the architecture, the BN statistics, the opset and the resolution, so a
restart, or the `export_onnx` tool run ahead of time, saves the export. Execution providers follow
the engine's device: CPUExecutionProvider for 'cpu'; for 'cuda[:N]' TensorRT (with its engine
cache next to the ONNX files) then CUDA, then CPU for any node they leave, and a clear error
naming the providers this onnxruntime has when CUDA is not one of them.
"""

import hashlib
import io
import json
import os
import tempfile
import threading
import time
import warnings

from dynofa_ros.core.perception.supernet import EngineError

BACKENDS = ('torch', 'onnxruntime')
OPSET = 17
FORMAT = 1      # bump when the export itself changes: every cached file is then rebuilt
KEEP_FILES = 48     # per supernet: older exports (other weights) are deleted, least used first
_EXPORT_LOCK = threading.Lock()     # torch's exporter keeps global state: one export at a time


class OnnxBackendError(EngineError):
    """onnxruntime is missing, lacks a provider, or an export / session failed."""


def available():
    """Return True when onnxruntime can be imported."""
    try:
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def resolve_backend(name):
    """Return 'torch' or 'onnxruntime' for a backend setting ('auto': onnxruntime if present)."""
    name = str(name).strip().lower()
    if name == 'auto':
        return 'onnxruntime' if available() else 'torch'
    if name not in BACKENDS:
        raise OnnxBackendError(f"backend {name!r} is not one of {list(BACKENDS) + ['auto']}")
    if name == 'onnxruntime' and not available():
        raise OnnxBackendError("backend 'onnxruntime' requested but the onnxruntime Python "
                               'package is not installed (pip install onnxruntime, or '
                               'onnxruntime-gpu for CUDA / TensorRT)')
    return name


def default_cache_dir():
    """Return the default ONNX cache directory (~/.cache/dynofa_ros/onnx)."""
    base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
    return os.path.join(base, 'dynofa_ros', 'onnx')


def providers_for(device, cache_dir, present=None):
    """
    Return the (provider, options) list for a device, best first.

    Raise OnnxBackendError naming the providers present when the device cannot be served.
    """
    if present is None:
        import onnxruntime as ort
        present = ort.get_available_providers()
    device = str(device).strip().lower()
    if device == 'cpu':
        return [('CPUExecutionProvider', {})]
    if device != 'cuda' and not device.startswith('cuda:'):
        raise OnnxBackendError(f"device {device!r} is not 'cpu', 'cuda' or 'cuda:N'")
    if 'CUDAExecutionProvider' not in present:
        raise OnnxBackendError(
            f'device {device!r} needs CUDAExecutionProvider (and TensorrtExecutionProvider for '
            f'TensorRT), but this onnxruntime has only {list(present)}; install onnxruntime-gpu '
            'or use backend: torch')
    index = device.partition(':')[2] or '0'
    chosen = []
    if 'TensorrtExecutionProvider' in present:
        engines = os.path.join(cache_dir, 'tensorrt')
        chosen.append(('TensorrtExecutionProvider', {
            'device_id': index, 'trt_engine_cache_enable': 'True',
            'trt_engine_cache_path': engines, 'trt_timing_cache_enable': 'True',
            'trt_timing_cache_path': engines}))
    chosen.append(('CUDAExecutionProvider', {'device_id': index}))
    chosen.append(('CPUExecutionProvider', {}))
    return chosen


def tensors_digest(tensors):
    """Return a sha256 hex digest of named tensors ({name: tensor or (tensor, ...)})."""
    h = hashlib.sha256()
    for name in sorted(tensors):
        value = tensors[name]
        for t in value if isinstance(value, (tuple, list)) else (value,):
            t = t.detach().cpu().contiguous()
            h.update(f'{name}|{t.dtype}|{tuple(t.shape)}|'.encode())
            h.update(t.numpy().tobytes())
    return h.hexdigest()


def export_key(weights_digest, supernet, arch, bn_digest, opset=OPSET):
    """Return the cache key of one export: weights, architecture, BN statistics, opset, r."""
    blob = json.dumps({'format': FORMAT, 'supernet': supernet, 'weights': weights_digest,
                       'arch': arch.as_dict(), 'bn': bn_digest, 'opset': opset,
                       'r': arch.r}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def onnx_path(cache_dir, supernet, subnet_id, key):
    """Return where the export with this key lives."""
    return os.path.join(cache_dir, supernet, f'{subnet_id}-r{key[:16]}.onnx')


def touch(path):
    """Mark a cached export as used now (pruning deletes the least recently used)."""
    try:
        os.utime(path)
    except OSError:
        pass


def prune(directory, keep=KEEP_FILES):
    """Delete all but the `keep` most recently used .onnx files of a cache directory."""
    try:
        files = [os.path.join(directory, f) for f in os.listdir(directory)
                 if f.endswith('.onnx')]
        files.sort(key=lambda f: os.stat(f).st_mtime, reverse=True)
    except OSError:
        return []
    removed = []
    for path in files[keep:]:
        try:
            os.unlink(path)
            removed.append(path)
        except OSError:
            pass
    return removed


def export(static_net, resolution, path, opset=OPSET):
    """Export a static network (1x3xRxR input 'input', output 'logits') to path, atomically."""
    import torch
    buf = io.BytesIO()
    try:
        with _EXPORT_LOCK, warnings.catch_warnings():
            warnings.simplefilter('ignore')
            sample = torch.zeros(1, 3, resolution, resolution)
            torch.onnx.export(static_net.cpu().eval(), (sample,), buf, dynamo=False,
                              opset_version=opset, input_names=['input'],
                              output_names=['logits'], do_constant_folding=True)
    except Exception as exc:  # noqa: B902 - the exporter raises many types
        raise OnnxBackendError(f'ONNX export to {path} failed: {type(exc).__name__}: {exc}')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), suffix='.tmp')
    try:
        with os.fdopen(fd, 'wb') as f:
            f.write(buf.getvalue())
        os.replace(tmp, path)       # readers never see a half-written file
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    prune(os.path.dirname(path))
    return path


class OnnxSubnet:
    """One sub-network's ONNX Runtime session, callable on a 1x3xRxR float32 array."""

    def __init__(self, path, resolution, providers, num_threads=0):
        import numpy as np
        import onnxruntime as ort
        options = ort.SessionOptions()
        options.intra_op_num_threads = max(0, int(num_threads))
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Idle intra-op threads sleep instead of spinning: the CPU is shared with the node's
        # executor, other nodes and, on a robot, the energy budget.
        options.add_session_config_entry('session.intra_op.allow_spinning', '0')
        start = time.perf_counter()
        try:
            self.session = ort.InferenceSession(
                path, options, providers=[p for p, _ in providers],
                provider_options=[o for _, o in providers])
        except Exception as exc:  # noqa: B902 - onnxruntime raises its own exception types
            raise OnnxBackendError(f'cannot open ONNX session for {path}: {exc}')
        self.build_s = time.perf_counter() - start
        self.path, self.resolution, self.num_threads = path, resolution, num_threads
        self.providers = self.session.get_providers()
        self.nbytes = os.path.getsize(path)
        self._input = self.session.get_inputs()[0].name
        self._np = np
        self.warm_up()

    def warm_up(self):
        """Run once at the sub-network's resolution (allocation; on GPUs, autotuning)."""
        start = time.perf_counter()
        self(self._np.zeros((1, 3, self.resolution, self.resolution), self._np.float32))
        self.warmup_s = time.perf_counter() - start

    def __call__(self, batch):
        """Return the logits (1 x classes float32) of a 1x3xRxR float32 array."""
        return self.session.run(None, {self._input: batch})[0]
