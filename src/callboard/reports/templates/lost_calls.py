"""Lost incoming calls by caller: ``UnreturnedLostCalls`` and ``LostCallRevenue`` (SPEC §3).

A **lost call** is an incoming call (the first segment's ``callDir`` is 2) that nobody answered and
that ended lost (``CallList``'s ``ans = 0`` and ``lost = 1``). Its caller is the first segment's
``cli``. A lost call is **returned** when, after its start and within ``callbackWindowHours``, there
is an outgoing segment dialling that number (``calledUserNum`` of a ``callDir`` 3 segment, answered
or not: somebody called back) or an answered incoming call from it. Only the caller's *last* lost
call decides whether the caller was returned (earlier attempts are superseded by the later one).

Numbers are compared in one normal form, computed in the engine (:func:`normal_number`), so that
``+44 7977 502880``, ``0044 7977 502880``, ``447977502880`` and ``07977 502880`` (with
``countryCode`` GB) are the same caller. A number with no digits (null, ``anonymous``,
``withheld``, ``private`` …) is **withheld**: all withheld lost calls make one row of their own,
never returned (there is no number to call back).

Lost calls come from the period alone, but contacts are also read in the ``callbackWindowHours``
after its end (:meth:`_SeesCallBacks.lookahead_seconds`), so a late lost call returned the next
morning counts as returned.

``UnreturnedLostCalls`` lists the callers whose last lost call was not returned (and the withheld
row); ``includeReturnedCalls`` lists the returned ones too. ``LostCallRevenue`` counts every caller.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import ibis
import ibis.expr.types as ir

from callboard.calls.functions import EngineFunctions
from callboard.calls.rollups import add_seconds
from callboard.calls.schema import DIR_INCOMING, DIR_OUTGOING
from callboard.reports.templates.base import BuildContext, Template, TemplateField
from callboard.reports.templates.helpers import calls_of, flag

if TYPE_CHECKING:
    from callboard.reports.request import ResolvedRequest


# ---- phone numbers ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class CountryRule:
    """How one country writes numbers: its calling code, the trunk (national) prefix dialled before a
    national number ("" where there is none), and the international (IDD) prefix."""

    calling_code: str
    trunk_prefix: str
    idd_prefix: str


# Common countries (ISO 3166 alpha-2). Checked against libphonenumber's metadata in the tests; any
# other region is looked up in that metadata once per report (:func:`country_rule`), never per row.
COUNTRY_RULES: dict[str, CountryRule] = {
    "GB": CountryRule("44", "0", "00"), "IE": CountryRule("353", "0", "00"),
    "US": CountryRule("1", "1", "011"), "CA": CountryRule("1", "1", "011"),
    "AU": CountryRule("61", "0", "0011"), "NZ": CountryRule("64", "0", "00"),
    "DE": CountryRule("49", "0", "00"), "FR": CountryRule("33", "0", "00"),
    "ES": CountryRule("34", "", "00"), "IT": CountryRule("39", "", "00"),
    "NL": CountryRule("31", "0", "00"), "BE": CountryRule("32", "0", "00"),
    "AT": CountryRule("43", "0", "00"), "CH": CountryRule("41", "0", "00"),
    "SE": CountryRule("46", "0", "00"), "NO": CountryRule("47", "", "00"),
    "DK": CountryRule("45", "", "00"), "FI": CountryRule("358", "0", "00"),
    "PL": CountryRule("48", "", "00"), "PT": CountryRule("351", "", "00"),
    "CZ": CountryRule("420", "", "00"), "LU": CountryRule("352", "", "00"),
    "IN": CountryRule("91", "0", "00"), "SG": CountryRule("65", "", "000"),
    "HK": CountryRule("852", "", "00"), "JP": CountryRule("81", "0", "010"),
    "ZA": CountryRule("27", "0", "00"), "MX": CountryRule("52", "", "00"),
    "AE": CountryRule("971", "0", "00"), "IL": CountryRule("972", "0", "00"),
    "CN": CountryRule("86", "0", "00"),
}
# A number written without + or an IDD prefix counts as already international when it starts with
# the country's own calling code and has at least this many digits after it (GB 44 + 10, US 1 + 10,
# FR 33 + 9); shorter ones are national numbers without their trunk prefix (US 10-digit, IT, ES).
_MIN_AFTER_CODE = 9
# National numbers are at least this long (after a trunk prefix); shorter digit strings are
# extensions or short codes and are left as they are.
_MIN_NATIONAL = 6


def country_rule(country: str | None) -> CountryRule | None:
    """The rule for ``countryCode``: an ISO alpha-2 region (``GB``) or a calling code (``44``,
    ``+44``). Regions outside :data:`COUNTRY_RULES` come from libphonenumber's metadata; an unknown
    one gives None (numbers are then only normalised where written internationally)."""
    if not country:
        return None
    code = country.strip().upper()
    digits = code.lstrip("+")
    if digits.isdigit():
        for rule in COUNTRY_RULES.values():
            if rule.calling_code == digits:
                return rule
        import phonenumbers

        code = phonenumbers.region_code_for_country_code(int(digits))
    if code in COUNTRY_RULES:
        return COUNTRY_RULES[code]
    from phonenumbers.phonemetadata import PhoneMetadata

    meta = PhoneMetadata.metadata_for_region(code)
    if meta is None:
        return None
    idd = meta.preferred_international_prefix or meta.international_prefix or "00"
    if not idd.isdigit():
        idd = "00"
    return CountryRule(str(meta.country_code), meta.national_prefix or "", idd)


def normal_number(num: ir.StringValue, rule: CountryRule | None) -> ir.StringValue:
    """A phone number in one comparable form, by string functions every engine has (no per-row
    library): ``+<digits>`` (E.164) when the country can be told, else its bare digits; null when it
    has no digits (withheld).

    Steps: lower-case; drop anything from ``@`` or ``;`` (a SIP URI's host and parameters) and the
    ``(0)`` of ``+44 (0)20 …``; keep the digits (a ``tel:``/``sip:`` scheme has none). Then, first
    match wins: a leading ``+`` → ``+`` digits; the ``00`` / country IDD prefix and 6+ digits →
    ``+`` rest; the trunk prefix (``0``, US ``1``) and 6+ digits → ``+`` calling code + rest; the
    country's own calling code and 9+ more digits → ``+`` digits; 7+ digits → ``+`` calling code +
    digits (a national number written without its trunk prefix); anything shorter (an extension)
    → its digits.
    """
    s = num.lower().strip()
    return _normal_form(s, _digits(s), rule)


def _digits(s: ir.StringValue) -> ir.StringValue:
    # two regular expressions per value: the host/parameters and a "(0)" go, then everything but digits
    return s.re_replace(r"[@;].*$|\(0\)", "").re_replace(r"[^0-9]", "")


def _normal_form(s: ir.StringValue, digits: ir.StringValue, rule: CountryRule | None) -> ir.StringValue:
    """:func:`normal_number` of lower-cased, stripped ``s`` whose digits are ``digits``."""
    plus = s.startswith("+") | s.startswith("tel:+") | s.startswith("sip:+") | s.startswith("sips:+")
    branches: list[tuple[ir.BooleanValue, ir.StringValue]] = [
        (digits.isnull() | (digits.length() == 0), ibis.null("string")),
        (plus, "+" + digits),
    ]
    idds = ["00"] if rule is None else sorted({rule.idd_prefix, "00"}, key=len, reverse=True)
    if rule is not None and rule.calling_code == "1":
        idds = [rule.idd_prefix]  # in North America 00… is not an international prefix
    for idd in idds:
        branches.append((digits.startswith(idd) & (digits.length() >= len(idd) + _MIN_NATIONAL),
                         "+" + digits.substr(len(idd))))
    if rule is not None:
        cc, trunk = rule.calling_code, rule.trunk_prefix
        if trunk:
            branches.append((digits.startswith(trunk) & (digits.length() >= len(trunk) + _MIN_NATIONAL),
                             "+" + cc + digits.substr(len(trunk))))
        branches.append((digits.startswith(cc) & (digits.length() >= len(cc) + _MIN_AFTER_CODE), "+" + digits))
        branches.append((digits.length() >= _MIN_NATIONAL + 1, "+" + cc + digits))
    return ibis.cases(*branches, else_=digits)


# ---- lost calls and their callers ------------------------------------------------------------------
def with_normal_number(t: ir.Table, column: str, out: str, rule: CountryRule | None) -> ir.Table:
    """``t`` plus ``out`` = :func:`normal_number` of ``t[column]``, computed once per distinct raw
    value (callers repeat: a year's calls hold far fewer numbers than rows) and joined back."""
    raw = t.select(_raw=t[column]).filter(lambda r: r._raw.notnull()).distinct()
    # digits as a column of its own: inlined, its two regular expressions would be written out in
    # every branch of the CASE, and DuckDB parses (and binds) every copy
    raw = raw.mutate(_s=raw._raw.lower().strip())
    raw = raw.mutate(_d=_digits(raw._s))
    raw = raw.select("_raw", _norm=_normal_form(raw._s, raw._d, rule))
    j = t.left_join(raw, t[column] == raw._raw)
    return j.drop("_raw").rename({out: "_norm"})


def _caller_rollup(segs: ir.Table, fn: EngineFunctions) -> ir.Table:
    """The columns of :func:`callboard.calls.rollups.rollup_calls` that lost calls need (``connId``, ``start``,
    ``cli``/``cliName``/``callDir`` of the first segment, the first hunt group, ``ans``, ``lost``), by
    the same definitions, one row per ``connId`` -- without the rollup's other arg-mins (arg-min over
    wide structs of strings is what makes the full rollup slow on DuckDB)."""
    key = ibis.struct({"s": segs.start, "d": segs.docId})
    j = segs.group_by("connId").aggregate(
        c_start=segs.start.min(), c_ans=segs.ans.max(), c_lost=segs.lost.max(),
        f=fn.first_by(ibis.struct({"cli": segs.cli, "cliName": segs.cliName, "callDir": segs.callDir}), key),
        h=fn.first_by(ibis.struct({"num": segs.hgNum, "name": segs.hgName}), key, where=segs.hgNum.notnull()),
    )
    return j.select("connId", start=j.c_start, cli=j.f["cli"], cliName=j.f["cliName"], hgNum=j.h["num"],
                    hgName=j.h["name"], callDir=j.f["callDir"].cast("int64"), ans=j.c_ans.cast("int64"),
                    lost=j.c_lost.cast("int64"))


@dataclass(frozen=True)
class LostCalls:
    """What both lost-call templates are built from (:func:`lost_calls`).

    ``calls``: one row per lost incoming call -- ``connId``, ``start``, ``hgNum``/``hgName`` (the
    call's first hunt group), ``cli``/``cliName`` as presented, ``number`` (:func:`normal_number`,
    null when withheld).

    ``callers``: one row per caller number -- ``number``, ``attempts``, ``firstAttempt``,
    ``lastAttempt``, the last lost call's ``cliName``/``hgNum``/``hgName``, and ``returnedAt``: the
    first contact after the last lost call and within ``callbackWindowHours`` (null: not returned).
    The row whose ``number`` is null gathers every withheld lost call (never returned).
    """

    calls: ir.Table
    callers: ir.Table


def lost_calls(segments: ir.Table, req: ResolvedRequest, ctx: BuildContext) -> LostCalls:
    """The period's lost calls and their callers, each caller's last lost call checked for a return."""
    rule = country_rule(req.request.countryCode)
    period, later = segments, None
    if "_inPeriod" in segments.columns:  # the period's segments, and those of the window after it
        period, later = segments.filter(segments._inPeriod), segments.filter(~segments._inPeriod)

    def lost_in(c: ir.Table) -> ir.BooleanValue:
        return (c.callDir == DIR_INCOMING) & (c.ans == 0) & (c.lost == 1)

    def answered_in(c: ir.Table) -> ir.BooleanValue:
        return (c.callDir == DIR_INCOMING) & (c.ans == 1)

    # each use rolls (or reads) its own calls, filtered where they are read: one shared call table
    # would be materialised whole before either filter
    lost = calls_of(period, ctx, _caller_rollup, where=lost_in)
    lost = with_normal_number(lost.select("connId", "start", "hgNum", "hgName", "cli", "cliName"), "cli", "number",
                              rule)
    # The caller's last lost call by (start, connId), picked in the aggregation (a row_number()
    # window would sort every lost call). Withheld calls stay in, as the null group: a filter on
    # ``number`` would be pushed below with_normal_number's DISTINCT and normalise every row.
    latest = ibis.struct({"cliName": lost.cliName, "hgNum": lost.hgNum, "hgName": lost.hgName})
    callers = lost.group_by("number").aggregate(
        attempts=lost.count(), firstAttempt=lost.start.min(), lastAttempt=lost.start.max(),
        _l=ctx.functions.last_by(latest, ibis.struct({"s": lost.start, "c": lost.connId})))

    answered = calls_of(period, ctx, _caller_rollup, where=answered_in).select("cli", "start")
    if later is not None:
        # calls after the period's end are rolled up on their own: they are contacts, never lost calls
        after = calls_of(later, ctx, _caller_rollup, after=True, where=answered_in).select("cli", "start")
        answered = answered.union(after, distinct=False)
    outgoing = segments.filter(segments.callDir == DIR_OUTGOING)
    contacts = (answered.select(craw=answered.cli, t=answered.start)
                .union(outgoing.select(craw=outgoing.calledUserNum, t=outgoing.start.cast(answered.start.type())),
                       distinct=False))
    # no ``cnum IS NOT NULL`` filter: the equi-join below drops null numbers anyway, and DuckDB would
    # push that filter below the DISTINCT of with_normal_number, normalising every row, not every number
    contacts = with_normal_number(contacts, "craw", "cnum", rule)
    last = callers.select(lnum="number", lstart="lastAttempt")  # the equi-join drops the withheld row
    window_s = ibis.literal(float(req.request.callbackWindowHours) * 3600.0)
    hits = last.join(contacts, [last.lnum == contacts.cnum, contacts.t > last.lstart,
                                contacts.t <= add_seconds(last.lstart, window_s)])
    back = hits.group_by("lnum").aggregate(returnedAt=hits.t.min())
    j = callers.left_join(back, callers.number == back.lnum)
    callers = j.select("number", "attempts", "firstAttempt", "lastAttempt", cliName=j._l["cliName"],
                       hgNum=j._l["hgNum"], hgName=j._l["hgName"], returnedAt=j.returnedAt)
    return LostCalls(lost, callers)


class _SeesCallBacks(Template):
    """A template built on :func:`lost_calls`: it also reads the ``callbackWindowHours`` after the
    period's end, since a call-back there still returns a lost call of the period."""

    def lookahead_seconds(self, req: ResolvedRequest) -> float:
        return float(req.request.callbackWindowHours) * 3600.0


class UnreturnedLostCalls(_SeesCallBacks):
    name = "UnreturnedLostCalls"
    description = ("One row per caller number whose last lost incoming call was not returned within "
                   "callbackWindowHours (with includeReturnedCalls, every caller with lost calls): how often and "
                   "when they tried.")
    kind = "aggregate"
    key = ("withheld", "cli")
    fields = (
        TemplateField("cli", "string", "Caller number",
                      description="The caller's number in normal form (E.164 with countryCode); null for the "
                                  "withheld row."),
        TemplateField("cliName", "string", "Caller name", description="Name presented on the last lost call."),
        TemplateField("withheld", "flag", "Withheld",
                      description="1 on the one row of every lost call without a number (never returned)."),
        TemplateField("attempts", "int", "Attempts", True, description="Lost incoming calls from this number."),
        TemplateField("firstAttempt", "timestamp", "First attempt", description="Start of the first lost call."),
        TemplateField("lastAttempt", "timestamp", "Last attempt", description="Start of the last lost call."),
        TemplateField("returned", "flag", "Returned", True,
                      description="1 when the last lost call was returned: an outgoing call to the number or an "
                                  "answered incoming call from it, after its start and within "
                                  "callbackWindowHours. Such callers are listed only with includeReturnedCalls."),
        TemplateField("returnedAt", "timestamp", "Returned at", description="Start of the first such contact."),
        TemplateField("timeToReturn", "float", "Time to return (s)",
                      description="returnedAt − lastAttempt in seconds."),
        TemplateField("hgNum", "string", "Hunt group number",
                      description="First hunt group of the last lost call."),
        TemplateField("hgName", "string", "Hunt group", description="Name of that hunt group."),
    )

    def build(self, segments: ir.Table, req: ResolvedRequest, ctx: BuildContext) -> ir.Table:
        c = lost_calls(segments, req, ctx).callers
        if not req.request.includeReturnedCalls:
            c = c.filter(c.returnedAt.isnull())  # the withheld row is never returned: always listed
        withheld = c.number.isnull()
        return c.select(
            cli=c.number, cliName=c.cliName, withheld=flag(withheld), attempts=c.attempts,
            firstAttempt=c.firstAttempt, lastAttempt=c.lastAttempt, returned=flag(c.returnedAt.notnull()),
            returnedAt=c.returnedAt, timeToReturn=ctx.functions.seconds_between(c.lastAttempt, c.returnedAt),
            hgNum=c.hgNum, hgName=c.hgName,
        )


class LostCallRevenue(_SeesCallBacks):
    name = "LostCallRevenue"
    description = ("Lost incoming calls and the revenue estimated lost with the callers nobody called back, "
                   "per hunt group and in total.")
    kind = "aggregate"
    key = ("total", "noGroup", "hgNum")
    fields = (
        TemplateField("hgNum", "string", "Hunt group number",
                      description="The lost calls' first hunt group; null on the no-group and total rows."),
        TemplateField("hgName", "string", "Hunt group", description="Name of the hunt group."),
        TemplateField("total", "flag", "Total row", description="1 on the row totalling every group."),
        TemplateField("lostCalls", "int", "Lost calls", description="Lost incoming calls."),
        TemplateField("callers", "int", "Callers",
                      description="Callers whose last lost call was here (each withheld call counts as a "
                                  "caller of its own)."),
        TemplateField("unreturned", "int", "Unreturned callers",
                      description="Of those callers, the ones whose last lost call was not returned (withheld "
                                  "calls never are)."),
        TemplateField("estimatedRevenueLost", "float", "Estimated revenue lost",
                      description="unreturned ÷ incomingCallsPerSale × incomingEstimatedRevenue."),
    )

    def build(self, segments: ir.Table, req: ResolvedRequest, ctx: BuildContext) -> ir.Table:
        lc = lost_calls(segments, req, ctx)
        calls, callers = lc.calls, lc.callers
        # What each row adds to its hunt group: a lost call counts as lost; a caller counts, and
        # counts as unreturned, in the group of its last lost call; a withheld call is a caller of
        # its own, never returned, so the callers' withheld row adds nothing. (Caller rows carry no
        # name: their group has lost calls, which do.)
        withheld = flag(calls.number.isnull())
        named = callers.number.notnull()
        parts = calls.select("hgNum", "hgName", _lost=ibis.literal(1), _caller=withheld, _unret=withheld).union(
            callers.select("hgNum", hgName=ibis.null("string"), _lost=ibis.literal(0), _caller=flag(named),
                           _unret=flag(named & callers.returnedAt.isnull())), distinct=False)
        measures = {"lostCalls": parts._lost.sum(), "callers": parts._caller.sum(), "unreturned": parts._unret.sum()}
        groups = parts.group_by("hgNum").aggregate(hgName=parts.hgName.max(), **measures)
        groups = groups.select("hgNum", "hgName", "lostCalls", "callers", "unreturned",
                               total=ibis.literal(0), noGroup=flag(groups.hgNum.isnull()))
        # the total from the groups' sums: from ``parts`` again, the engine would evaluate them twice
        total = groups.aggregate(lostCalls=groups.lostCalls.sum(), callers=groups.callers.sum(),
                                 unreturned=groups.unreturned.sum())
        total = total.select(hgNum=ibis.null("string"), hgName=ibis.null("string"), lostCalls=total.lostCalls,
                             callers=total.callers, unreturned=total.unreturned, total=ibis.literal(1),
                             noGroup=ibis.literal(0))
        out = groups.union(total, distinct=False)
        r = req.request
        per_unreturned = float(r.incomingEstimatedRevenue) / float(r.incomingCallsPerSale)
        return out.mutate(lostCalls=ibis.coalesce(out.lostCalls, 0), callers=ibis.coalesce(out.callers, 0),
                          unreturned=ibis.coalesce(out.unreturned, 0),
                          estimatedRevenueLost=ibis.coalesce(out.unreturned, 0).cast("float64") * per_unreturned)
