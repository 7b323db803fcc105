"""
The Dynamic-OFA engine: one supernet, switchable sub-networks, applied between frames.

A switch request only records the wanted sub-network (microseconds, any thread); the worker
thread applies it at the start of its next infer() call, so an inference never sees a change
mid-way. Each sub-network runs from a cached prepared copy when one is ready (built in the
background after a switch, run once at its resolution, kept in an LRU within a memory budget),
otherwise on the supernet's slower dynamic path with that sub-network's BN statistics swapped
into the shared buffers. The prepared copy depends on the backend: an extracted static torch
network ('torch'), or an ONNX Runtime session on the exported sub-network ('onnxruntime',
dynofa_ros.core.perception.onnx_backend).
"""

import copy
from dataclasses import dataclass
import logging
import os
import tempfile
import threading
import time

from dynofa_ros.core.images.preprocess import check_rgb, preprocess
from dynofa_ros.core.perception import onnx_backend
from dynofa_ros.core.perception import placement as task_mapping
from dynofa_ros.core.perception.bn_stats import (BnStatsFile, collect, load_into_static,
                                                 SupernetBnSwap)
from dynofa_ros.core.perception.supernet import (apply_arch, build_supernet, EngineError, extract,
                                                 load_checkpoint, module_bytes, shadow_copy)
import numpy as np

__all__ = ['DynamicOfaEngine', 'EngineError', 'InferResult', 'MappingError']


class MappingError(EngineError, ValueError):
    """A device, thread count or CPU affinity the engine cannot use."""


@dataclass
class InferResult:
    """The outcome of one frame."""

    probs: np.ndarray       # (1000,) float32 softmax probabilities
    subnet: object          # the catalog Subnet that produced them
    switched: bool          # a pending switch was applied at the start of this frame
    inference_ms: float     # forward pass only
    preprocess_ms: float    # resize + normalise
    path: str               # 'cached' (prepared sub-network) or 'dynamic' (supernet)
    backend: str = 'torch'  # what ran this frame: 'torch' or 'onnxruntime'


class DynamicOfaEngine:
    """Run the catalog's sub-networks of one OFA supernet, switchable at frame boundaries."""

    def __init__(self, catalog, checkpoint='', initial_subnet='', device='cpu', num_threads=0,
                 cpu_affinity=(), cache_budget_mb=512.0, bn_stats='', logger=None,
                 backend='torch', onnx_cache_dir=''):
        self._log = logger or logging.getLogger('dynofa_ros.engine')
        self.catalog = catalog
        self.backend = onnx_backend.resolve_backend(backend)
        self._tmp_cache = None
        if self.backend == 'onnxruntime' and not checkpoint and not onnx_cache_dir:
            # Random weights differ in every process: their exports are never reused.
            self._tmp_cache = tempfile.TemporaryDirectory(prefix='dynofa_onnx_')
            onnx_cache_dir = self._tmp_cache.name
        self.onnx_cache_dir = os.path.abspath(onnx_cache_dir or onnx_backend.default_cache_dir())
        try:
            self._mapping = task_mapping.validate(device, num_threads, cpu_affinity)
        except ValueError as exc:
            raise MappingError(str(exc))
        self._check_backend_device(self._mapping.device)
        if initial_subnet:
            try:
                initial = catalog.get(initial_subnet)
            except KeyError as exc:
                raise EngineError(exc.args[0])
        else:
            initial = max(catalog.subnets, key=lambda s: s.top1)
        if cache_budget_mb < 0:
            raise EngineError(f'cache_budget_mb {cache_budget_mb} must be >= 0')
        self._mapping_lock = threading.Lock()      # one mapping change at a time
        self._applied_affinity = ()
        self._pin(self._mapping.cpu_affinity)      # before any thread of ours: they inherit it

        self._stats = self._load_bn_stats(bn_stats or catalog.bn_stats_path())
        self._master = build_supernet(catalog.supernet)
        self.checkpoint = checkpoint
        self.random_weights = not checkpoint
        if checkpoint:
            load_checkpoint(self._master, checkpoint, catalog.supernet)
            self._log.info(f'loaded {catalog.supernet} weights from {checkpoint}')
        else:
            self._log.warning(
                f'NO CHECKPOINT: {catalog.supernet} runs with RANDOM WEIGHTS, its '
                'classifications are meaningless. Give an OFA checkpoint file to fix this.')
        self._pristine_bn = collect(self._master)
        self._weights_digest = None
        if self.backend == 'onnxruntime':    # the export cache key names these exact weights
            self._weights_digest = onnx_backend.tensors_digest(self._master.state_dict())
        self._shadow = shadow_copy(self._master)    # background extraction only
        self._shadow_lock = threading.Lock()

        self._lock = threading.Lock()
        self._pending_subnet = None
        self._pending_mapping = self._mapping       # applied on the worker at the first frame
        self._active = initial
        self._dyn, self._dyn_device, self._swap, self._dyn_state = None, None, None, None
        self._set_dynamic_device(self._mapping.device)
        self._cache = SubnetCacheAdapter(self, cache_budget_mb)
        self._cache.request(initial.id, self._mapping.device, self._mapping.num_threads)

    # --- properties -------------------------------------------------------------------
    @property
    def active(self):
        """Return the sub-network the last (or, before any frame, the first) frame runs."""
        return self._active

    @property
    def device(self):
        return self._mapping.device

    @property
    def num_threads(self):
        """Return the intra-op thread count the worker uses (torch's default if not set)."""
        if self._mapping.num_threads > 0:
            return self._mapping.num_threads
        import torch
        return torch.get_num_threads()

    @property
    def cpu_affinity(self):
        return self._mapping.cpu_affinity

    @property
    def has_bn_stats(self):
        """Return the ids of sub-networks that run with their own calibrated BN statistics."""
        return sorted(self._stats)

    def cache_info(self):
        """Return the cache state: keys (LRU first), used and budget MB, evictions."""
        return self._cache.info()

    def wait_cache_idle(self, timeout=None):
        """Block until the background builder has nothing to do; False on timeout."""
        return self._cache.wait_idle(timeout)

    # --- control (any thread) ----------------------------------------------------------
    def request_switch(self, subnet_id):
        """Ask for a sub-network from the next frame on; KeyError if the catalog lacks it."""
        subnet = self.catalog.get(subnet_id)
        with self._lock:
            self._pending_subnet = subnet
            mapping = self._pending_mapping or self._mapping
        self._cache.request(subnet.id, mapping.device, mapping.num_threads)
        return subnet

    def set_mapping(self, device=None, num_threads=None, cpu_affinity=None):
        """
        Change device / threads from the next frame on, CPU affinity at once.

        Raise MappingError when a value is invalid or the kernel refuses the affinity; nothing
        changes then.
        """
        with self._mapping_lock:
            with self._lock:
                base = self._pending_mapping or self._mapping
            try:
                new = task_mapping.validate(
                    base.device if device is None else device,
                    base.num_threads if num_threads is None else num_threads,
                    base.cpu_affinity if cpu_affinity is None else cpu_affinity)
            except ValueError as exc:
                raise MappingError(str(exc))
            self._check_backend_device(new.device)
            self._pin(new.cpu_affinity)
            with self._lock:
                self._pending_mapping = new

    # --- the worker thread -----------------------------------------------------------
    def infer(self, rgb):
        """Classify one HxWx3 uint8 RGB image with the active sub-network."""
        import torch
        check_rgb(rgb)      # before taking pending changes: a bad frame changes nothing
        with self._lock:
            subnet, self._pending_subnet = self._pending_subnet, None
            mapping, self._pending_mapping = self._pending_mapping, None
        if mapping is not None:
            self._apply_mapping(mapping)
        switched = subnet is not None and subnet.id != self._active.id
        if switched:
            self._active = subnet
        active, device = self._active, self._mapping.device

        start = time.perf_counter()
        array = preprocess(rgb, active.arch.r)
        prepared = time.perf_counter()
        net = self._cache.get(active.id, device, self._mapping.num_threads)
        if net is not None and self.backend == 'onnxruntime':
            logits = net(array)     # releases the GIL while it runs
            probs = _softmax(logits[0].astype(np.float32, copy=False))
            path, ran = 'cached', 'onnxruntime'
        else:
            path, ran = 'cached', 'torch'
            if net is None:
                net, path = self._dynamic_net(active), 'dynamic'
            batch = torch.from_numpy(array)     # shares the array's memory, no copy
            if device != 'cpu':
                batch = batch.to(device)
            with torch.inference_mode():
                probs = torch.softmax(net(batch).float(), dim=1)[0].cpu().numpy()
        done = time.perf_counter()
        return InferResult(probs=probs, subnet=active, switched=switched,
                           inference_ms=(done - prepared) * 1e3,
                           preprocess_ms=(prepared - start) * 1e3, path=path, backend=ran)

    def close(self):
        """Stop background cache building (and drop a temporary export directory)."""
        self._cache.close()
        if self._tmp_cache is not None:
            self._tmp_cache.cleanup()

    # --- internals -------------------------------------------------------------------
    def _dynamic_net(self, subnet):
        """Return the supernet set to `subnet`, with its BN statistics (only when it changed)."""
        if self._dyn_state != subnet.id:
            apply_arch(self._dyn, subnet.arch)
            self._swap.apply(subnet.id)
            self._dyn_state = subnet.id
        return self._dyn

    def _set_dynamic_device(self, device):
        if device == 'cpu':
            net = self._master
        else:
            net = copy.deepcopy(self._master).to(device)
        self._swap = SupernetBnSwap(net, self._pristine_bn)
        for subnet_id, stats in self._stats.items():
            self._swap.prepare(subnet_id, self.catalog.get(subnet_id).arch, stats)
        self._dyn, self._dyn_device, self._dyn_state = net, device, None

    def _apply_mapping(self, new):
        if new.device != self._dyn_device:
            self._set_dynamic_device(new.device)
        if new.device != self._mapping.device or (
                self.backend == 'onnxruntime' and new.num_threads != self._mapping.num_threads):
            self._cache.request(self._active.id, new.device, new.num_threads)
        task_mapping.apply_threads(new.num_threads)
        self._mapping = new

    def _pin(self, cpu_affinity):
        """Apply a CPU affinity to the whole process now; MappingError if the kernel refuses."""
        if cpu_affinity == self._applied_affinity:
            return
        try:
            task_mapping.apply_affinity(cpu_affinity)
        except ValueError as exc:
            raise MappingError(str(exc))
        self._applied_affinity = cpu_affinity

    def _check_backend_device(self, device):
        if self.backend == 'onnxruntime':
            try:
                onnx_backend.providers_for(device, self.onnx_cache_dir)
            except onnx_backend.OnnxBackendError as exc:
                raise MappingError(str(exc))

    def _build_static(self, subnet_id, device):
        """Return the extracted static torch sub-network, run once at its resolution."""
        import torch
        net = self.extract_static(subnet_id).to(device)
        r = self.catalog.get(subnet_id).arch.r
        with torch.inference_mode():
            net(torch.zeros(1, 3, r, r, device=device))    # warm-up before its first frame
        return net

    def extract_static(self, subnet_id):
        """Return a new extracted static torch copy of a sub-network with its BN statistics."""
        subnet = self.catalog.get(subnet_id)
        with self._shadow_lock:
            net = extract(self._shadow, subnet.arch)
        if subnet_id in self._stats:
            load_into_static(net, self._stats[subnet_id], f'BN statistics of {subnet_id}')
        return net

    def onnx_file_path(self, subnet_id):
        """Return where a sub-network's ONNX export is cached (it may not exist yet)."""
        subnet = self.catalog.get(subnet_id)
        stats = self._stats.get(subnet_id)
        bn = onnx_backend.tensors_digest(stats) if stats is not None else 'checkpoint'
        if self._weights_digest is None:
            self._weights_digest = onnx_backend.tensors_digest(self._master.state_dict())
        key = onnx_backend.export_key(self._weights_digest, self.catalog.supernet, subnet.arch,
                                      bn)
        return onnx_backend.onnx_path(self.onnx_cache_dir, self.catalog.supernet, subnet_id, key)

    def onnx_file(self, subnet_id):
        """Return the path of a sub-network's ONNX export, exporting it first if needed."""
        path = self.onnx_file_path(subnet_id)
        if not os.path.isfile(path):
            subnet = self.catalog.get(subnet_id)
            onnx_backend.export(self.extract_static(subnet_id), subnet.arch.r, path)
            self._log.info(f'exported {subnet_id} to {path}')
        else:
            onnx_backend.touch(path)
        return path

    def build_session(self, subnet_id, device='cpu', num_threads=0):
        """Return an ONNX Runtime session of the sub-network, run once at its resolution."""
        providers = onnx_backend.providers_for(device, self.onnx_cache_dir)
        return onnx_backend.OnnxSubnet(self.onnx_file(subnet_id),
                                       self.catalog.get(subnet_id).arch.r, providers,
                                       num_threads)

    def _build(self, key):
        subnet_id, device, backend, num_threads = key
        if backend == 'onnxruntime':
            return self.build_session(subnet_id, device, num_threads)
        return self._build_static(subnet_id, device)

    def _load_bn_stats(self, path):
        if not path:
            self._log.info("no BN statistics file: every sub-network uses the checkpoint's")
            return {}
        stats_file = BnStatsFile.load(path)
        stats, warnings = stats_file.for_catalog(self.catalog, path)
        for warning in warnings:
            self._log.warning(warning)
        self._log.info(f'BN statistics for {len(stats)} sub-networks from {path}')
        return stats


def _softmax(logits):
    e = np.exp(logits - logits.max())
    return e / e.sum()


def _size_of(net):
    return net.nbytes if isinstance(net, onnx_backend.OnnxSubnet) else module_bytes(net)


class SubnetCacheAdapter:
    """
    The engine's view of the cache: keys are (sub-network id, device, backend, threads).

    A torch network serves any thread count (threads is 0 in its key); an ONNX Runtime session
    has its intra-op thread pool fixed when it is built, so after a thread-count change the
    session built for the old count keeps serving until the new one is ready.
    """

    def __init__(self, engine, budget_mb):
        from dynofa_ros.core.perception.subnet_cache import SubnetCache
        self._engine = engine
        self._cache = SubnetCache(int(budget_mb * 2**20), build=engine._build, size_of=_size_of,
                                  on_error=self._report)

    def _key(self, subnet_id, device, num_threads):
        backend = self._engine.backend
        return (subnet_id, device, backend, num_threads if backend == 'onnxruntime' else 0)

    def _report(self, key, exc):
        what = 'an ONNX Runtime session' if key[2] == 'onnxruntime' else 'a static copy'
        self._engine._log.error(f'building {what} of {key[0]} on {key[1]} failed '
                                f'(staying on the dynamic path): {exc}')

    def request(self, subnet_id, device, num_threads=0):
        self._cache.request(self._key(subnet_id, device, num_threads))

    def get(self, subnet_id, device, num_threads=0):
        net = self._cache.get(self._key(subnet_id, device, num_threads))
        if net is None and self._engine.backend == 'onnxruntime':
            for key in reversed(self._cache.keys()):    # a session for another thread count
                if key[:3] == (subnet_id, device, 'onnxruntime'):
                    return self._cache.get(key)
        return net

    def info(self):
        return {'keys': [k[0] for k in self._cache.keys()],
                'used_mb': self._cache.used_bytes() / 2**20,
                'budget_mb': self._cache.budget_bytes / 2**20,
                'evictions': self._cache.evictions}

    def wait_idle(self, timeout=None):
        return self._cache.wait_idle(timeout)

    def close(self):
        self._cache.close()
