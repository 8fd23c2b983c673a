"""What a synthetic organisation looks like: the knobs of ``callboard generate``.

Everything generated is a pure function of an :class:`OrgConfig`; the same config always yields
byte-identical output, so benchmarks and tests can rebuild their data instead of shipping it.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, field, replace
from datetime import date
from zoneinfo import ZoneInfo

# Share of an ordinary weekday's calls by kind: hunt-group incoming, direct-dial incoming,
# outgoing, internal.
DEFAULT_MIX: tuple[float, float, float, float] = (0.38, 0.14, 0.30, 0.18)

# Mean segments per call at the default parameters (hunt-group calls ring ~1.6 agents); measured on
# generated years and used only for estimates (progress bars, benchmark sizing).
SEGMENTS_PER_CALL = 1.35


@dataclass(frozen=True)
class OrgConfig:
    """One synthetic organisation and the period of calls to generate for it."""

    seed: int = 0
    name: str = "Northwind Trading"
    users: int = 50
    hunt_groups: int = 4
    time_zone: str = "Europe/London"
    start: date = date(2025, 1, 1)
    days: int = 365
    # Average calls of all kinds per user on an ordinary weekday (scales every volume).
    calls_per_user_day: float = 12.0
    # Finite trunk lines shared by every external call; None sizes them by Erlang B for
    # ``trunk_blocking`` at the busy hour.
    trunk_lines: int | None = None
    trunk_blocking: float = 0.01
    country_code: str = "GB"
    account_codes: tuple[str, ...] = ("1001", "1002", "1003", "2001", "2002", "3001", "4001", "9000")
    account_code_share: float = 0.25
    withheld_share: float = 0.06
    national_format_share: float = 0.25
    # Of lost hunt-group calls: share whose caller rings again; of the rest, share an agent calls back.
    retry_share: float = 0.3
    callback_share: float = 0.6
    growth_per_year: float = 0.08
    seasonality: float = 0.08
    mix: tuple[float, float, float, float] = field(default=DEFAULT_MIX)

    def __post_init__(self) -> None:
        if self.users < 2:
            raise ValueError("users must be at least 2")
        if self.hunt_groups < 0 or (self.hunt_groups and self.users < 3):
            raise ValueError("hunt groups need at least 3 users")
        if self.days < 1:
            raise ValueError("days must be at least 1")
        if self.calls_per_user_day <= 0:
            raise ValueError("calls_per_user_day must be positive")
        if self.trunk_lines is not None and self.trunk_lines < 1:
            raise ValueError("trunk_lines must be at least 1")
        if len(self.mix) != 4 or min(self.mix) < 0 or sum(self.mix) <= 0:
            raise ValueError("mix needs four non-negative shares")
        if self.account_code_share > 0 and not self.account_codes:
            raise ValueError("account_code_share needs account_codes")
        ZoneInfo(self.time_zone)  # raises for an unknown zone

    def with_(self, **changes: object) -> OrgConfig:
        """A copy with some knobs changed (configs are frozen so they can key caches)."""
        return replace(self, **changes)  # type: ignore[arg-type]

    def org_digest(self) -> str:
        """SHA-256 (hex) of every knob but the period (``start``, ``days``): what makes one
        organisation. Record ids derive from it and the month, so two organisations never share
        an id and one organisation's calls keep theirs whatever period they are generated in."""
        knobs = {k: v for k, v in asdict(self).items() if k not in ("start", "days")}
        text = json.dumps(knobs, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(f"callboard-generate\x1f{text}".encode()).hexdigest()


def erlang_b(traffic: float, lines: int) -> float:
    """Blocking probability of ``lines`` trunks offered ``traffic`` erlangs (iterative form)."""
    b = 1.0
    for n in range(1, lines + 1):
        b = traffic * b / (n + traffic * b)
    return b


def lines_for(traffic: float, blocking: float) -> int:
    """Fewest trunk lines whose Erlang-B blocking at ``traffic`` is at most ``blocking``."""
    n = max(1, math.ceil(traffic))
    while erlang_b(traffic, n) > blocking:
        n += 1
    return n
