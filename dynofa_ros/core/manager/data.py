"""
Plain data the runtime manager works on: telemetry in, decisions out.

The manager node converts ROS messages to and from these; the simulator builds them directly.
Times are seconds on one monotonic clock chosen by the caller.
"""

from dataclasses import dataclass, field


@dataclass
class FrameStats:
    """One processed frame of one application (mirrors PerceptionStats)."""

    app_id: str
    t: float
    subnet_index: int
    inference_latency_ms: float
    frames_processed: int = 0
    frames_dropped: int = 0
    num_threads: int = 0
    device: str = ''           # device the frame ran on ('cpu', 'cuda', ...; '': not reported)


@dataclass
class SystemSnapshot:
    """DVFS domains and temperatures (mirrors SystemState)."""

    t: float
    cur_khz: dict = field(default_factory=dict)      # domain name -> current frequency
    governors: dict = field(default_factory=dict)    # domain name -> governor
    utilization: dict = field(default_factory=dict)  # domain name -> busy share 0-1 (optional)
    max_temperature_c: float = float('nan')


@dataclass
class PowerSnapshot:
    """Board power (mirrors PowerState)."""

    t: float
    total_w: float
    measured: bool


@dataclass(frozen=True)
class SubnetDecision:
    """Run this sub-network for this application."""

    app_id: str
    subnet_index: int
    subnet_id: str
    expected_latency_ms: float
    expected_accuracy: float
    reason: str


@dataclass(frozen=True)
class DvfsDecision:
    """Set one DVFS domain: pin a frequency, hand it to a governor, or restore it."""

    domain: str
    mode: str                  # 'pin' | 'governor' | 'restore'
    frequency_khz: int = 0
    governor: str = ''
    reason: str = ''

    def same_setting(self, other):
        return other is not None and (self.mode, self.frequency_khz, self.governor) == (
            other.mode, other.frequency_khz, other.governor)


@dataclass(frozen=True)
class MappingDecision:
    """Run this application on a device with this many intra-op threads ('', 0, (): keep)."""

    app_id: str
    num_threads: int
    device: str = ''
    cpu_affinity: tuple = ()
    reason: str = ''


@dataclass
class Decisions:
    """What one policy call changed (empty lists when nothing changed)."""

    subnets: list = field(default_factory=list)
    dvfs: list = field(default_factory=list)
    mappings: list = field(default_factory=list)

    def extend(self, other):
        self.subnets.extend(other.subnets)
        self.dvfs.extend(other.dvfs)
        self.mappings.extend(other.mappings)
        return self

    def __bool__(self):
        return bool(self.subnets or self.dvfs or self.mappings)
