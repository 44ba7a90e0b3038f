"""Reconnect back-off: exponential, capped, with jitter.

Why jitter: after a switch or NVR reboot, every camera on a node fails at the
same moment; without jitter all sources would hammer the network again in
lock-step at 0.5 s, 1 s, 2 s... Randomness is injected so the maths is unit
tested exactly, without sleeping.
"""

from __future__ import annotations

import random
from collections.abc import Callable

# Past 2**32 the base delay is far beyond any sane cap; stopping the exponent
# there keeps the float maths finite however long a camera stays down.
_MAX_EXPONENT = 32


class Backoff:
    """Delay before reconnect attempt n (0-based):
    ``min(max_s, min(max_s, initial_s * 2**n) * (1 + jitter * u))`` with ``u``
    uniform in [-1, 1). The cap is applied after jitter, so ``max_s`` is a
    true upper bound; at the cap jitter only shortens delays, which still
    spreads reconnects out.
    """

    def __init__(
        self,
        initial_s: float,
        max_s: float,
        jitter: float,
        rand: Callable[[], float] = random.random,
    ) -> None:
        if initial_s <= 0 or max_s < initial_s:
            raise ValueError("need 0 < initial_s <= max_s")
        if not 0.0 <= jitter <= 1.0:
            raise ValueError("jitter is a fraction in [0, 1]")
        self.initial_s = initial_s
        self.max_s = max_s
        self.jitter = jitter
        self._rand = rand
        self._attempts = 0

    @property
    def attempts(self) -> int:
        """Delays handed out since the last :meth:`reset`."""
        return self._attempts

    def base_delay(self, attempt: int) -> float:
        """Delay for ``attempt`` before jitter."""
        return min(self.max_s, self.initial_s * 2.0 ** min(attempt, _MAX_EXPONENT))

    def next_delay(self) -> float:
        base = self.base_delay(self._attempts)
        self._attempts += 1
        u = 2.0 * self._rand() - 1.0  # random.random() is in [0, 1)
        return max(0.0, min(self.max_s, base * (1.0 + self.jitter * u)))

    def reset(self) -> None:
        """Call once a connection works again: the next failure waits ``initial_s``."""
        self._attempts = 0
