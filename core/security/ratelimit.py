"""Failed logins, counted per client address and per account, in sliding windows (spec J1).

After `limit` failures within `window_s` from one address, that address is refused
without its guess being checked until the oldest failure leaves the window: ten
guesses a minute make even a short password a matter of years. An attacker with
many addresses meets the second count, kept per account (today the one owner, later
each named user): `account_limit` failures from anywhere within `account_window_s`
stop every guess at that account. The price is that during such an attack nobody can
log in anew, by password or bearer token, until it stops; sessions already open
carry on.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

MAX_CLIENTS = 10_000  # a flood from many addresses must not grow memory without bound


class SlidingWindow:
    """Failure times per key, at most `limit` kept, each forgotten `window_s` after it happened."""

    def __init__(self, limit: int, window_s: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, key: str) -> deque[float]:
        failures = self._failures.get(key)
        if failures is None:
            return deque()
        cutoff = self._clock() - self.window_s
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            del self._failures[key]
        return failures

    def retry_after(self, key: str) -> float:
        failures = self._recent(key)
        if len(failures) < self.limit:
            return 0.0
        return max(0.1, failures[-self.limit] + self.window_s - self._clock())

    def add(self, key: str) -> None:
        failures = self._failures.setdefault(key, deque())
        self._failures.move_to_end(key)
        failures.append(self._clock())
        while len(failures) > self.limit:
            failures.popleft()
        while len(self._failures) > MAX_CLIENTS:
            self._failures.popitem(last=False)

    def take_back(self, key: str) -> None:
        failures = self._failures.get(key)
        if failures:
            failures.pop()
            if not failures:
                del self._failures[key]


class LoginLimiter:
    def __init__(self, limit: int = 10, window_s: float = 60.0, *, account_limit: int = 30,
                 account_window_s: float = 600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._clients = SlidingWindow(limit, window_s, clock)
        self._accounts = SlidingWindow(account_limit, account_window_s, clock)

    def retry_after(self, client: str, account: str) -> float:
        """Seconds until a guess from `client` at `account` may be checked; 0 when it may now."""
        return max(self._clients.retry_after(client), self._accounts.retry_after(account))

    def account_locked(self, account: str) -> bool:
        return self._accounts.retry_after(account) > 0

    def failed(self, client: str, account: str) -> None:
        self._clients.add(client)
        self._accounts.add(account)

    def succeeded(self, client: str, account: str) -> None:
        """Take back the attempt counted before the check. Only that one: behind a shared address
        (a proxy, a NAT) someone else's successful login must not wipe an attacker's record."""
        self._clients.take_back(client)
        self._accounts.take_back(account)
