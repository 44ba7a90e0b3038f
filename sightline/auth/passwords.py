"""Password hashing (argon2id) and the password policy.

Why argon2id: it is the winner of the Password Hashing Competition and the
first choice of OWASP and RFC 9106; being memory-hard, it makes GPU/ASIC
guessing of a stolen hash expensive, which bcrypt does less well (and bcrypt
silently ignores bytes past 72). The parameters are argon2-cffi's defaults,
RFC 9106's "low-memory" profile (64 MiB, 3 passes, 4 lanes), encoded in each
hash, so raising them later only needs :func:`needs_rehash` on the next login.

The policy is deliberately short (NIST SP 800-63B favours length over
composition rules): at least 10 characters, not all of one kind, not the
username. Messages say exactly what to change.
"""

from __future__ import annotations

import os
import string
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_LENGTH = 10
MAX_LENGTH = 1024  # argon2 copes with more; this keeps login requests small

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile

# Each hash or check holds 64 MiB and a core for ~0.3 s. Unbounded, a burst of
# parallel sign-ins (the HTTP thread pool has 40 threads) would take gigabytes;
# so at most one per core runs, the rest wait up to HASH_WAIT_S and are then
# answered "busy" (HTTP 503), which costs the server nothing.
# The cores this process may use (a container's CPU set), not the host's count.
HASH_SLOTS = max(2, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 2)
HASH_WAIT_S = 10.0
_slots = threading.BoundedSemaphore(HASH_SLOTS)


class PasswordCheckBusy(RuntimeError):
    """Every password-hashing slot stayed busy for HASH_WAIT_S."""

    def __init__(self) -> None:
        super().__init__("the server is busy checking other sign-ins; try again in a few seconds")


@contextmanager
def _hash_slot() -> Iterator[None]:
    if not _slots.acquire(timeout=HASH_WAIT_S):
        raise PasswordCheckBusy()
    try:
        yield
    finally:
        _slots.release()


class WeakPassword(ValueError):
    """The password does not meet the policy; the message says how to fix it."""


def _classes(password: str) -> set[str]:
    found = set()
    for ch in password:
        if ch in string.ascii_lowercase:
            found.add("lower-case letters")
        elif ch in string.ascii_uppercase:
            found.add("upper-case letters")
        elif ch.isdigit():
            found.add("digits")
        elif ch.isalpha():
            found.add("other letters")
        else:
            found.add("symbols or spaces")
    return found


def policy_problems(password: str, username: str | None = None) -> list[str]:
    """What is wrong with ``password`` (empty when it is acceptable)."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(f"it has {len(password)} characters; use at least {MIN_LENGTH}")
    if len(password) > MAX_LENGTH:
        problems.append(f"it has {len(password)} characters; use at most {MAX_LENGTH}")
    if password and len(_classes(password)) < 2:
        problems.append(
            "it uses only one kind of character; mix at least two of lower-case, upper-case, "
            "digits and symbols (a few unrelated words with a digit or space is fine)"
        )
    if username and password.strip().lower() == username.strip().lower():
        problems.append("it is the username")
    return problems


def check_policy(password: str, username: str | None = None) -> None:
    """Raise :class:`WeakPassword` unless ``password`` meets the policy."""
    problems = policy_problems(password, username)
    if problems:
        raise WeakPassword("password too weak: " + "; ".join(problems))


def hash_password(password: str) -> str:
    """An argon2id hash (PHC string: algorithm, parameters, salt, digest)."""
    with _hash_slot():
        return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches; False for a mismatch or an unusable hash."""
    with _hash_slot():
        try:
            return _hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with other parameters than today's."""
    try:
        return _hasher.check_needs_rehash(password_hash)
    except (InvalidHashError, ValueError):
        return True


# A hash of a random string, verified against when the username is unknown so
# that "no such user" takes as long as "wrong password" (no user enumeration).
_DUMMY_HASH: str | None = None


def burn_time(password: str) -> None:
    """Spend one verification's worth of time on nothing."""
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = hash_password("sightline-dummy-password-for-timing")
    verify_password(_DUMMY_HASH, password)


@contextmanager
def hasher_parameters(time_cost: int, memory_cost: int, parallelism: int) -> Iterator[None]:
    """Use other argon2 parameters inside the block (tests use cheap ones;
    production keeps the defaults)."""
    global _hasher, _DUMMY_HASH
    saved, saved_dummy = _hasher, _DUMMY_HASH
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
    _DUMMY_HASH = None
    try:
        yield
    finally:
        _hasher, _DUMMY_HASH = saved, saved_dummy
