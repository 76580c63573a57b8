"""Failed logins per client, in a sliding window (spec J1).

After `limit` failures within `window_s` a client is refused without its guess
being checked, until the oldest failure leaves the window: ten guesses a minute
make even a short password a matter of years.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable

MAX_CLIENTS = 10_000  # a flood from many addresses must not grow memory without bound


class LoginLimiter:
    def __init__(self, limit: int = 10, window_s: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str) -> deque[float]:
        failures = self._failures.get(client)
        if failures is None:
            return deque()
        cutoff = self._clock() - self.window_s
        while failures and failures[0] <= cutoff:
            failures.popleft()
        if not failures:
            del self._failures[client]
        return failures

    def retry_after(self, client: str) -> float:
        """Seconds until `client` may try again; 0 when it may now."""
        failures = self._recent(client)
        if len(failures) < self.limit:
            return 0.0
        return max(0.1, failures[-self.limit] + self.window_s - self._clock())

    def failed(self, client: str) -> None:
        failures = self._failures.setdefault(client, deque())
        self._failures.move_to_end(client)
        failures.append(self._clock())
        while len(failures) > self.limit:
            failures.popleft()
        while len(self._failures) > MAX_CLIENTS:
            self._failures.popitem(last=False)

    def succeeded(self, client: str) -> None:
        """Take back the attempt counted before the check. Only that one: behind a shared address
        (a proxy, a NAT) someone else's successful login must not wipe an attacker's record."""
        failures = self._failures.get(client)
        if failures:
            failures.pop()
            if not failures:
                del self._failures[client]
