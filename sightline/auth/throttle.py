"""Login throttling: after ``max_failures`` wrong passwords for one username
from one client address within ``window_s``, that pair is locked out for
``lockout_s`` (HTTP 429 with ``Retry-After``); a successful login clears it.

Why this shape: keyed by username *and* address, so an attacker cannot lock
a colleague out from elsewhere by failing on purpose, while online guessing
of one account from one place drops to a handful of tries per lock-out. While
locked, the password is not even checked — no oracle, no argon2 CPU spent.
In memory because it is per process and short-lived by nature; a restart
forgets it, which costs an attacker a restart they cannot cause. The table is
bounded (stale entries are pruned, then the oldest dropped) so a flood of
random usernames cannot exhaust memory. Time comes from an injected Clock.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from sightline.core.clock import Clock, SystemClock


@dataclass
class _Entry:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0


class LoginThrottle:
    def __init__(
        self,
        clock: Clock | None = None,
        max_failures: int = 5,
        window_s: float = 300.0,
        lockout_s: float = 300.0,
        max_entries: int = 100_000,
    ) -> None:
        self.clock = clock or SystemClock()
        self.max_failures = max_failures
        self.window_s = window_s
        self.lockout_s = lockout_s
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(username: str, client: str) -> tuple[str, str]:
        return username.strip().lower(), client

    def retry_after(self, username: str, client: str) -> float | None:
        """Seconds until this pair may try again, or None when it may try now."""
        now = self.clock.now()
        with self._lock:
            entry = self._entries.get(self._key(username, client))
            if entry is None or entry.locked_until <= now:
                return None
            return entry.locked_until - now

    def failure(self, username: str, client: str) -> float | None:
        """Record a wrong password; returns the lock-out in seconds when this one locked the pair."""
        now = self.clock.now()
        key = self._key(username, client)
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                self._make_room(now)
                entry = self._entries[key] = _Entry()
            if entry.locked_until and entry.locked_until <= now:  # a served lock-out starts afresh
                entry.failures.clear()
                entry.locked_until = 0.0
            while entry.failures and entry.failures[0] <= now - self.window_s:
                entry.failures.popleft()
            entry.failures.append(now)
            if len(entry.failures) >= self.max_failures:
                entry.locked_until = now + self.lockout_s
                entry.failures.clear()
                return self.lockout_s
            return None

    def success(self, username: str, client: str) -> None:
        with self._lock:
            self._entries.pop(self._key(username, client), None)

    def __len__(self) -> int:
        return len(self._entries)

    def _make_room(self, now: float) -> None:
        if len(self._entries) < self.max_entries:
            return
        stale = [
            k
            for k, e in self._entries.items()
            if e.locked_until <= now and (not e.failures or e.failures[-1] <= now - self.window_s)
        ]
        for k in stale:
            del self._entries[k]
        while len(self._entries) >= self.max_entries:  # still full: forget the oldest
            del self._entries[next(iter(self._entries))]
