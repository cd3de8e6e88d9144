"""When to stop timing: enough time and calls, not too much, or a tight enough median."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from ..errors import InputError
from .stats import ci_half_width_rel

# The CI is re-checked each time the sample count grows by this factor: sorting is
# O(n log n), so checking after every call would dominate long runs of fast models.
CI_CHECK_GROWTH = 1.1


@dataclass(frozen=True)
class StopRule:
    """Run until ``min_time`` AND ``min_iters``; stop at ``max_time`` OR ``max_iters``,
    or earlier once the 95% CI of the median is within ±``ci_rel`` of it."""

    min_time: float = 1.0
    max_time: float = 10.0
    min_iters: int = 10
    max_iters: int = 1_000_000
    ci_rel: float = 0.01

    def __post_init__(self):
        if self.min_time < 0 or self.max_time <= 0:
            raise InputError("--min-time must be ≥ 0 and --max-time > 0 seconds; give positive times")
        if self.min_time > self.max_time:
            raise InputError(
                f"--min-time {self.min_time:g} s is longer than --max-time {self.max_time:g} s; "
                "make --max-time at least as long"
            )
        if self.min_iters < 1 or self.max_iters < self.min_iters:
            raise InputError("iteration limits need 1 ≤ min-iters ≤ max-iters; fix the limits")
        if not 0 < self.ci_rel < 1:
            raise InputError("the CI target must be a fraction between 0 and 1, e.g. 0.01 for ±1%")

    def to_dict(self) -> dict:
        return asdict(self)

    def decide(self, n: int, elapsed: float, samples=None) -> str | None:
        """The reason to stop now, or None to go on.  ``samples`` enables the CI test."""
        if n >= self.max_iters:
            return "max_iters"
        if elapsed >= self.max_time:
            return "max_time"
        if n < self.min_iters or elapsed < self.min_time:
            return None
        if samples is not None and ci_half_width_rel(samples) <= self.ci_rel:
            return "ci"
        return None
