"""Out-of-range settings and values are refused at submission, naming the part (never a 500 later)."""

from __future__ import annotations

import pytest

from callboard.reports.request import RequestError, resolve_request

BASE = {"reportTemplateName": "CallListByUserSegmented"}


@pytest.mark.parametrize(
    ("body", "part", "words"),
    [
        ({"rowLimit": 1e20}, "rowLimit", "integer"),
        ({"rowLimit": 200_000_000}, "rowLimit", "less than or equal"),
        ({"pageSize": 0}, "pageSize", "-1 (all rows in one document)"),
        ({"ignoreAbandonedCalls": "yes"}, "ignoreAbandonedCalls", "boolean"),
        ({"countryCode": "ZZZ"}, "countryCode", "unknown country 'ZZZ'"),
        ({"locale": "!!"}, "locale", "not a locale"),
        ({"totalTrunks": -1}, "totalTrunks", "greater than or equal"),
        ({"filterConditions": [{"fieldName": "callDir", "operator": "=", "values": [10**30]}]},
         "filterConditions[0].values[0]", "64-bit integer range"),
    ],
)
def test_out_of_range_requests_are_refused(body: dict, part: str, words: str) -> None:
    with pytest.raises(RequestError) as info:
        resolve_request({**BASE, **body})
    assert info.value.part == part
    assert words in info.value.message


@pytest.mark.parametrize("country", ["GB", "44", "+44", "US", "DE"])
def test_known_countries_are_accepted(country: str) -> None:
    req = resolve_request({**BASE, "countryCode": country, "locale": "en-GB"})
    assert req.request.countryCode == country
