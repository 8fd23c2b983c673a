"""The SPEC §7 benchmark organisation: many workspaces, ~10 M segments a year in all."""

from __future__ import annotations

from datetime import date

from callboard.generate.config import OrgConfig
from callboard.generate.patterns import expected_segments

_BENCHMARK_SITES: tuple[tuple[str, str], ...] = (
    ("Europe/London", "GB"), ("Europe/Dublin", "IE"), ("Europe/Berlin", "DE"), ("Europe/Paris", "FR"),
    ("America/New_York", "US"), ("America/Chicago", "US"), ("America/Los_Angeles", "US"),
    ("Australia/Sydney", "AU"),
)


def benchmark_org(
    n_workspaces: int = 20,
    users_total: int = 500,
    seed: int = 2025,
    *,
    segments_per_year: int = 10_000_000,
    start: date = date(2025, 1, 1),
    days: int = 365,
) -> list[OrgConfig]:
    """Configs of the SPEC §7 benchmark: ``users_total`` users over ``n_workspaces`` workspaces,
    ~``segments_per_year`` segments a year in all (mostly UK, some EU/US/AU sites)."""
    per_ws = [users_total // n_workspaces + (i < users_total % n_workspaces) for i in range(n_workspaces)]
    configs = [
        OrgConfig(seed=seed + i, name=f"Benchmark Org {i + 1:02d}", users=max(3, u),
                  hunt_groups=4 if u >= 12 else 2,
                  time_zone=_BENCHMARK_SITES[i % len(_BENCHMARK_SITES)][0] if i % 3 == 2 else "Europe/London",
                  country_code=_BENCHMARK_SITES[i % len(_BENCHMARK_SITES)][1] if i % 3 == 2 else "GB",
                  start=start, days=days)
        for i, u in enumerate(per_ws)
    ]
    # One scale for every workspace so that the year's total lands on the target.
    per_year = sum(expected_segments(c.with_(days=365)) for c in configs)
    scale = segments_per_year / per_year
    return [c.with_(calls_per_user_day=round(c.calls_per_user_day * scale, 3)) for c in configs]
