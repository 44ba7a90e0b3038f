"""Login throttling, on two keys:

- **username + client address**: after ``max_failures`` wrong passwords within
  ``window_s`` that pair is locked out (HTTP 429 with ``Retry-After``); a
  successful login clears it. Keyed by both, so an attacker cannot lock a
  colleague out from elsewhere by failing on purpose.
- **client address alone**: after ``max_failures_per_address`` failures (any
  usernames) within ``window_s`` the address is locked out. This stops
  password spraying — one common password tried against many accounts —
  which the pair key never sees twice. Success does not clear it (one valid
  account must not reset a spray).

Lock-outs grow exponentially: the n-th consecutive lock-out of a key lasts
``lockout_s * 2**(n-1)``, at most ``max_lockout_s``; the streak is forgotten
after a success (pair key) or ``streak_reset_s`` without a lock-out.

While locked, the password is not even checked — no oracle, no argon2 CPU
spent. Attempts are reserved *before* the slow password check (:meth:`begin` /
:meth:`end`): otherwise fifty parallel requests would all pass the check
"fewer than 5 failures so far" and get fifty guesses before the first failure
is counted. An attempt that would exceed what is left, counting those in
flight, waits a second. In memory because it is per process and short-lived by nature; a
restart forgets it, which costs an attacker a restart they cannot cause. The
table is bounded (stale entries are pruned, then the oldest dropped) so a
flood of random usernames cannot exhaust memory. Time comes from an injected
Clock, so tests move time instead of sleeping.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field

from sightline.core.clock import Clock, SystemClock

IN_FLIGHT_WAIT_S = 1.0  # answer to an attempt beyond the budget while others are being checked
_ADDRESS = "\0address"  # the "username" of per-address entries: no real username contains NUL


@dataclass
class _Entry:
    failures: deque[float] = field(default_factory=deque)
    locked_until: float = 0.0
    strikes: int = 0  # consecutive lock-outs, for the exponential back-off
    last_lock_at: float = 0.0


@dataclass(frozen=True)
class Lockout:
    seconds: float
    scope: str  # "account" (username + address) or "address"


class LoginThrottle:
    def __init__(
        self,
        clock: Clock | None = None,
        max_failures: int = 5,
        window_s: float = 300.0,
        lockout_s: float = 300.0,
        max_entries: int = 100_000,
        max_failures_per_address: int = 20,
        max_lockout_s: float = 3600.0,
        streak_reset_s: float = 86_400.0,
    ) -> None:
        self.clock = clock or SystemClock()
        self.max_failures = max_failures
        self.max_failures_per_address = max_failures_per_address
        self.window_s = window_s
        self.lockout_s = lockout_s
        self.max_lockout_s = max_lockout_s
        self.streak_reset_s = streak_reset_s
        self.max_entries = max_entries
        self._entries: dict[tuple[str, str], _Entry] = {}
        self._in_flight: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _key(username: str, client: str) -> tuple[str, str]:
        return username.strip().lower(), client

    def retry_after(self, username: str, client: str) -> float | None:
        """Seconds until this username may try again from ``client``, or None when it may try now."""
        now = self.clock.now()
        with self._lock:
            waits = [
                entry.locked_until - now
                for key, _, _ in self._keys(username, client)
                if (entry := self._entries.get(key)) is not None and entry.locked_until > now
            ]
        return max(waits) if waits else None

    def begin(self, username: str, client: str) -> float | None:
        """Reserve an attempt before checking a password. None: go ahead, and call
        :meth:`end` afterwards, whatever happens. Else the seconds to wait: a key is
        locked, or the attempts in flight would use up the failures still allowed."""
        now = self.clock.now()
        keys = self._keys(username, client)
        with self._lock:
            waits = []
            for key, limit, _ in keys:
                entry = self._entries.get(key)
                if entry is not None and entry.locked_until > now:
                    waits.append(entry.locked_until - now)
                    continue
                recent = 0
                if entry is not None and not entry.locked_until:
                    recent = sum(1 for at in entry.failures if at > now - self.window_s)
                if recent + self._in_flight.get(key, 0) >= limit:
                    waits.append(IN_FLIGHT_WAIT_S)
            if waits:
                return max(waits)
            for key, _, _ in keys:
                self._in_flight[key] = self._in_flight.get(key, 0) + 1
        return None

    def end(self, username: str, client: str) -> None:
        """Release what :meth:`begin` reserved (after failure() or success())."""
        with self._lock:
            for key, _, _ in self._keys(username, client):
                left = self._in_flight.get(key, 0) - 1
                if left > 0:
                    self._in_flight[key] = left
                else:
                    self._in_flight.pop(key, None)

    def _keys(self, username: str, client: str) -> tuple[tuple[tuple[str, str], int, str], ...]:
        """The two counters an attempt touches: (key, failures allowed, scope)."""
        return (
            (self._key(username, client), self.max_failures, "account"),
            ((_ADDRESS, client), self.max_failures_per_address, "address"),
        )

    def failure(self, username: str, client: str) -> float | None:
        """Record a wrong password; returns the lock-out in seconds when this one locked a key."""
        found = self.failure_detail(username, client)
        return None if found is None else found.seconds

    def failure_detail(self, username: str, client: str) -> Lockout | None:
        now = self.clock.now()
        with self._lock:
            locked = [
                Lockout(seconds, scope)
                for key, limit, scope in self._keys(username, client)
                if (seconds := self._count(key, limit, now)) is not None
            ]
        return max(locked, key=lambda lock: lock.seconds) if locked else None

    def _count(self, key: tuple[str, str], limit: int, now: float) -> float | None:
        entry = self._entries.get(key)
        if entry is None:
            self._make_room(now)
            entry = self._entries[key] = _Entry()
        if entry.locked_until and entry.locked_until <= now:  # a served lock-out starts a fresh count
            entry.failures.clear()
            entry.locked_until = 0.0
        if entry.strikes and now - entry.last_lock_at > self.streak_reset_s:
            entry.strikes = 0
        while entry.failures and entry.failures[0] <= now - self.window_s:
            entry.failures.popleft()
        entry.failures.append(now)
        if len(entry.failures) < limit:
            return None
        entry.strikes += 1
        seconds = min(self.max_lockout_s, self.lockout_s * 2 ** (entry.strikes - 1))
        entry.locked_until = now + seconds
        entry.last_lock_at = now
        entry.failures.clear()
        return seconds

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
            if e.locked_until <= now
            and (not e.failures or e.failures[-1] <= now - self.window_s)
            and (not e.strikes or now - e.last_lock_at > self.streak_reset_s)
        ]
        for k in stale:
            del self._entries[k]
        while len(self._entries) >= self.max_entries:  # still full: forget the oldest
            del self._entries[next(iter(self._entries))]
