"""Report requests (SPEC §2): the wire model, validation against a template's field catalogue, and
resolution into what the engine runs (typed filter conditions, a UTC period, display/sort fields).

Everything a client may get wrong is checked here, at submission, so that a bad request is refused
with a 400 naming the offending part and the valid choices -- nothing is queued for it. The resolved
request is echoed in the results document, shaped like the seed-000 ``request`` object.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, ValidationError, field_validator

from callboard.reports import dates
from callboard.reports.filters import OPERATORS
from callboard.reports.templates import SEGMENT_FIELDS, TEMPLATES, Template, TemplateField, segment_field
from callboard.reports.templates.lost_calls import country_rule

DEFAULT_RING_THRESHOLDS: tuple[int, ...] = (10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120)

# Limits on one request (docs/api.md, "Request limits"): far above any real report, low enough that
# no request can hold the engine for minutes or bloat every status read. Each becomes a 400 at
# submission naming the part, the limit and the value given. Measured on a 100 k-segment workspace
# (CallSummaryByUser, 0.14 s plain): 10 conditions of 1,000 `in` values build and run in 1.7 s (100
# of them took 9 s), 1,000 accountCodeLabels 0.5 s (10,000: 10 s), 100 ringDurationThresholds 0.2 s.
MAX_FILTER_CONDITIONS = 100
MAX_VALUES_PER_CONDITION = 1_000
MAX_FILTER_VALUES = 10_000  # over all the conditions of a request
MAX_TEXT_LENGTH = 1_000  # characters of a filter value, an account code or its label
MAX_METADATA_BYTES = 64 * 1024  # ``metadata`` as compact UTF-8 JSON
MAX_METADATA_DEPTH = 32  # objects and arrays nested in ``metadata`` (the JSON encoders stop at 255)
MAX_ACCOUNT_CODE_LABELS = 1_000
MAX_RING_THRESHOLDS = 100
MAX_LIST_FIELDS = 100  # entries of sortFields, displayFields, childDisplayFields (templates have ≤ 30 fields)


class RequestError(ValueError):
    """A request the server refuses with 400: ``part`` is the JSON path of the offending field."""

    def __init__(self, part: str, message: str, choices: Sequence[str] | None = None) -> None:
        self.part = part
        self.message = message
        self.choices: list[str] | None = list(choices) if choices is not None else None
        text = f"{part}: {message}"
        if self.choices:
            shown = ", ".join(self.choices[:40]) + (" …" if len(self.choices) > 40 else "")
            text += f" (valid choices: {shown})"
        super().__init__(text)

    def as_dict(self) -> dict[str, Any]:
        return {"part": self.part, "message": self.message, "choices": self.choices}


# ---- wire model -------------------------------------------------------------------------------------
class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class FilterCondition(_Strict):
    fieldName: str
    operator: str
    values: list[Any] = Field(default_factory=list)


class SortField(_Strict):
    fieldName: str
    direction: int | str = 0


class DisplayField(_Strict):
    fieldName: str
    mandatory: bool = False


class DateFilter(BaseModel):
    """``metadata.dateFilter``; ``start``/``end`` carry a ``Custom`` range."""

    model_config = ConfigDict(extra="forbid")
    presetName: str | None = None
    presetFilterObject: dict[str, Any] | None = None
    daysOfWeek: int | None = None
    start: str | None = None
    end: str | None = None


class RequestMetadata(BaseModel):
    """``metadata``: the date filter plus the seed's bookkeeping fields, echoed as given.

    Extra keys are allowed here because the seed's echo carries server-computed fields
    (``referenceDate``, ``timezoneDateFrom`` …) that clients may send back unchanged.
    """

    model_config = ConfigDict(extra="allow")
    reportName: str | None = None
    dateFilter: DateFilter | None = None
    filterId: str | None = None
    additionalFilters: list[Any] = Field(default_factory=list)
    workspaceFilterId: str | None = None


_MAX_ROWS = 100_000_000


class RequestBody(_Strict):
    """The request body of SPEC §2 with every setting at its documented default."""

    reportTemplateName: str
    filterConditions: list[FilterCondition] = Field(default_factory=list)
    sortFields: list[SortField] = Field(default_factory=list)
    displayFields: list[DisplayField] = Field(default_factory=list)
    childDisplayFields: list[DisplayField | str] = Field(default_factory=list)
    ignoreDisplayFields: StrictBool = False
    metadata: RequestMetadata = Field(default_factory=RequestMetadata)
    source: str | None = None
    # Bounds keep every number representable in the engines and in the JSON echo.
    pageSize: int = Field(-1, ge=-1, le=_MAX_ROWS)
    batchSize: int = Field(-1, ge=-1, le=_MAX_ROWS)
    rowLimit: int = Field(1_000_000, ge=1, le=_MAX_ROWS)
    maxRows: int = Field(0, ge=0, le=_MAX_ROWS)
    priorityLevel: Literal[1, 2, 3] = 2
    callRatePeriod: int = Field(30, ge=1, le=24 * 60)
    ignoreAbandonedCalls: StrictBool = False
    shortAbandonSeconds: float = Field(5, ge=0, le=86_400)
    ignoreShortAnsweredCalls: StrictBool = False
    shortCallSeconds: float = Field(20, ge=0, le=86_400)
    accountCodeLabels: dict[str, str] = Field(default_factory=dict)
    ringDurationThresholds: list[int | float] = Field(
        default_factory=lambda: list[int | float](DEFAULT_RING_THRESHOLDS))
    incomingEstimatedRevenue: float = Field(0.0, ge=0, le=1e15)
    incomingCallsPerSale: float = Field(1, gt=0, le=1e9)
    outgoingEstimatedRevenue: float = Field(0.0, ge=0, le=1e15)
    outgoingCallsPerSale: float = Field(1, gt=0, le=1e9)
    durationGroupPeriodInSeconds: int = Field(60, ge=1, le=86_400)
    timeZoneId: str = "UTC"
    countryCode: str | None = None
    locale: str | None = None
    totalTrunks: int = Field(0, ge=0, le=1_000_000)
    callbackWindowHours: float = Field(24, gt=0, le=24 * 366)
    includeReturnedCalls: StrictBool = False  # UnreturnedLostCalls: also list callers who were returned

    @field_validator("pageSize")
    @classmethod
    def _page_size(cls, value: int) -> int:
        if value == 0:
            raise ValueError("pageSize is -1 (all rows in one document) or a number of rows >= 1")
        return value

    @field_validator("countryCode")
    @classmethod
    def _country(cls, value: str | None) -> str | None:
        if value is not None and value.strip() and country_rule(value) is None:
            raise ValueError(f"unknown country {_show(value)}: give an ISO 3166 alpha-2 code such as GB, US, "
                             "AU, or a calling code such as 44")
        return value

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*", value):
            raise ValueError(f"{_show(value)} is not a locale: give a language tag such as en-GB or en-US")
        return value


_FIELD_ORDER = list(RequestBody.model_fields)


# ---- resolved request -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Condition:
    """One validated filter: values converted to engine types (timestamps as naive UTC)."""

    field: str
    operator: str
    values: tuple[Any, ...]
    stage: Literal["segment", "result"]  # applied to segments before the template, or to its output


@dataclass
class ResolvedRequest:
    """What the runner needs, plus everything to echo the complete request."""

    request: RequestBody
    template: Template
    conditions: list[Condition]
    echo_conditions: list[dict[str, Any]]
    display_fields: list[str]
    child_fields: list[str]
    sort: list[tuple[str, bool]]  # (field, descending)
    period: dates.ResolvedPeriod | None
    weekdays: tuple[int, ...] | None  # ISO weekdays of local start kept (None = every day)
    reference: datetime
    _display_echo: list[dict[str, Any]] = field(default_factory=list)
    # The period's two segment conditions, ``start >= from`` and ``start < to`` (both also in
    # ``conditions``; None without a period): the runner moves the end for templates that read past
    # it, and the SQL cache makes both bounds parameters.
    period_from: Condition | None = None
    period_to: Condition | None = None

    def with_period(self, start: datetime, end: datetime) -> ResolvedRequest:
        """This request over another period of the same shape (naive UTC bounds): the period's
        two conditions hold the new bounds, everything else is unchanged."""
        if self.period_from is None or self.period_to is None:
            return self
        lo = replace(self.period_from, values=(start,))
        hi = replace(self.period_to, values=(end,))
        swap = {id(self.period_from): lo, id(self.period_to): hi}
        return replace(self, conditions=[swap.get(id(c), c) for c in self.conditions], period_from=lo, period_to=hi)

    def segment_conditions(self) -> list[Condition]:
        return [c for c in self.conditions if c.stage == "segment"]

    @property
    def tz(self) -> str:
        return self.request.timeZoneId

    @property
    def service_level_threshold(self) -> float:
        """Ring seconds within which an answer counts for ``serviceLevel`` in the summaries: the
        first (smallest) ``ringDurationThresholds`` bucket -- 10 s by default, Mitel's target."""
        return float(min(self.request.ringDurationThresholds))

    def echo(self, *, request_id: str, tenant_id: str, report_id: str | None,
             date_created: datetime | None = None) -> dict[str, Any]:
        """The resolved request shaped like the seed-000 ``request`` object (same keys, nesting)."""
        req = self.request
        created = (date_created or self.reference).astimezone(UTC)
        body = req.model_dump(mode="json", exclude={"metadata", "filterConditions", "sortFields",
                                                    "displayFields", "childDisplayFields"})
        meta_extra = {k: v for k, v in (req.metadata.model_extra or {}).items()
                      if k not in _SERVER_METADATA}
        metadata: dict[str, Any] = {
            "reportName": req.metadata.reportName,
            "dateFilter": self.period.date_filter() if self.period else None,
            "referenceDate": None,
            "timeZoneReferenceDate": None,
            "filterId": req.metadata.filterId,
            "additionalFilters": req.metadata.additionalFilters,
            "workspaceFilterId": req.metadata.workspaceFilterId,
            "timezoneDateFrom": None,
            "timezoneDateTo": None,
            "timeZoneDateCreated": _iso7(created),
            "timeZoneAbbreviation": None,
            **meta_extra,
        }
        if self.period is not None:
            metadata.update(self.period.metadata())
            df = req.metadata.dateFilter
            if df is not None and metadata["dateFilter"] is not None and (df.start or df.end):
                metadata["dateFilter"].update({"start": df.start, "end": df.end})
        out: dict[str, Any] = {
            "requestId": request_id,
            "dateCreated": _iso7(created).replace("+00:00", "Z"),
            "tenantId": tenant_id,
            "reportId": report_id,
            "reportTemplateName": self.template.name,
            "filterConditions": self.echo_conditions,
            "sortFields": [{"fieldName": f, "direction": int(d)} for f, d in self.sort],
            "displayFields": self._display_echo,
            "childDisplayFields": [{"fieldName": f, "mandatory": False} for f in self.child_fields],
            "ignoreDisplayFields": req.ignoreDisplayFields,
            "metadata": metadata,
        }
        for key in _FIELD_ORDER:
            if key in body and key not in out:
                out[key] = body[key]
        return out


_SERVER_METADATA = {"referenceDate", "timeZoneReferenceDate", "timezoneDateFrom", "timezoneDateTo",
                    "timeZoneDateCreated", "timeZoneAbbreviation"}


def _iso7(value: datetime) -> str:
    """An aware instant as the seed prints it: 7 fractional digits and ``+00:00``."""
    v = value.astimezone(UTC)
    return f"{v.strftime('%Y-%m-%dT%H:%M:%S')}.{v.microsecond:06d}0+00:00"


def _utc_iso(value: datetime) -> str:
    """A filter bound echoed with its offset, in UTC as the seed does."""
    return _iso7(value)


# ---- resolution -------------------------------------------------------------------------------------
def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """Saved-report defaults under the body: objects merge key by key, anything else is replaced."""
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _part_of(loc: Sequence[Any]) -> str:
    part = ""
    for item in loc:
        if isinstance(item, int):
            part += f"[{item}]"
        elif item in ("int", "str", "bool", "float") or "[" in str(item):
            continue  # pydantic's union-member labels
        else:
            part += ("." if part else "") + str(item)
    return part or "body"


def _validation_error(exc: ValidationError) -> RequestError:
    err = exc.errors()[0]
    part = _part_of(err["loc"])
    if err["type"] == "extra_forbidden":
        where = part.rsplit(".", 1)[0] if "." in part else ""
        known = _known_keys(where)
        return RequestError(part, f"unknown field {part.rsplit('.', 1)[-1]!r}", known)
    if err["type"] == "literal_error" and part == "priorityLevel":
        return RequestError(part, err["msg"], ["1", "2", "3"])
    return RequestError(part, err["msg"])


def _known_keys(where: str) -> list[str]:
    models: dict[str, type[BaseModel]] = {"": RequestBody, "metadata.dateFilter": DateFilter}
    base = where.split("[")[0]
    for suffix, model in (("filterConditions", FilterCondition), ("sortFields", SortField),
                          ("displayFields", DisplayField), ("childDisplayFields", DisplayField)):
        if base == suffix:
            return list(model.model_fields)
    found = models.get(where)
    return list(found.model_fields) if found else []


def resolve_request(
    body: Mapping[str, Any],
    *,
    now: datetime | None = None,
    defaults: Mapping[str, Any] | None = None,
    settle_lag: timedelta = timedelta(minutes=15),
) -> ResolvedRequest:
    """Validate a request body (over a saved report's ``defaults``) and resolve it for the engine.

    Raises :class:`RequestError` for anything the server refuses; the message names the part
    (``filterConditions[1].operator``) and, where there is a closed set, the valid choices.
    """
    if not isinstance(body, Mapping):
        raise RequestError("body", "the request body must be a JSON object")
    merged = _merge(defaults or {}, body)
    _check_limits(merged)
    if "reportTemplateName" not in merged:
        raise RequestError("reportTemplateName", "a report template is required", list(TEMPLATES))
    name = merged["reportTemplateName"]
    if name not in TEMPLATES:
        raise RequestError("reportTemplateName", f"unknown report template {name!r}", list(TEMPLATES))
    try:
        req = RequestBody.model_validate(merged)
    except ValidationError as exc:
        raise _validation_error(exc) from None
    template = TEMPLATES[req.reportTemplateName]
    reference = (now or datetime.now(UTC)).astimezone(UTC)

    tz = req.timeZoneId
    try:
        # validates the zone (and suggests close names) through the one zone loader we share
        dates.utc_offset_intervals(tz, reference, reference)
    except dates.DateFilterError as exc:
        raise RequestError("timeZoneId", str(exc), exc.choices or None) from None

    period = _resolve_period(req, tz, reference, settle_lag)
    conditions: list[Condition] = []
    echo_conditions: list[dict[str, Any]] = []
    period_from = period_to = None
    if period is not None:
        period_from = Condition("start", ">=", (_naive(period.start_utc),), "segment")
        period_to = Condition("start", "<", (_naive(period.end_utc),), "segment")
        conditions += [period_from, period_to]
        echo_conditions.append({"fieldName": "start", "operator": ">=", "values": [_utc_iso(period.start_utc)]})
        echo_conditions.append({"fieldName": "start", "operator": "<", "values": [_utc_iso(period.end_utc)]})
    for i, cond in enumerate(req.filterConditions):
        resolved, echoed = _resolve_condition(template, cond, tz, f"filterConditions[{i}]")
        conditions.append(resolved)
        echo_conditions.append(echoed)
    weekdays = None
    if period is not None and period.days_of_week != dates.ALL_DAYS:
        weekdays = tuple(dates.weekday_numbers(period.days_of_week))

    child = _resolve_children(template, req)
    display, display_echo = _resolve_display(template, req, child)
    sort = _resolve_sort(template, req)
    for i, t in enumerate(req.ringDurationThresholds):
        if not math.isfinite(t) or t < 0:
            raise RequestError(f"ringDurationThresholds[{i}]", "thresholds are seconds >= 0")
    if not req.ringDurationThresholds:
        raise RequestError("ringDurationThresholds", "at least one threshold is needed")
    return ResolvedRequest(
        request=req, template=template, conditions=conditions, echo_conditions=echo_conditions,
        display_fields=display, child_fields=child, sort=sort, period=period, weekdays=weekdays,
        reference=reference, _display_echo=display_echo, period_from=period_from, period_to=period_to,
    )


def _show(value: Any, width: int = 80) -> str:
    """A value as an error message quotes it: its repr, cut short (a value may be megabytes long)."""
    text = repr(value)
    return text if len(text) <= width else text[:width] + f"… ({len(text):,} characters)"


def _depth(value: Any, limit: int) -> int:
    """How deep objects and arrays nest in ``value`` (without recursion), counted up to ``limit + 1``."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, Mapping | list | tuple):
            deepest = max(deepest, level)
            if level > limit:
                break
            children = item.values() if isinstance(item, Mapping) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


def _over(part: str, what: str, given: int, limit: int, unit: str = "") -> RequestError:
    return RequestError(part, f"{what} {given:,}{unit}; the limit is {limit:,}{unit}")


def _check_limits(merged: Mapping[str, Any]) -> None:
    """The request limits (``MAX_*``), checked on the merged body before anything else is done with
    it; a part of the wrong type is left to the model's validation."""
    conditions = merged.get("filterConditions")
    if isinstance(conditions, list):
        if len(conditions) > MAX_FILTER_CONDITIONS:
            raise _over("filterConditions", "too many filter conditions:", len(conditions), MAX_FILTER_CONDITIONS)
        total = 0
        for i, cond in enumerate(conditions):
            values = cond.get("values") if isinstance(cond, Mapping) else None
            if not isinstance(values, list):
                continue
            part = f"filterConditions[{i}].values"
            if len(values) > MAX_VALUES_PER_CONDITION:
                raise _over(part, "too many values in one condition:", len(values), MAX_VALUES_PER_CONDITION)
            total += len(values)
            if total > MAX_FILTER_VALUES:
                raise _over(part, "too many filter values in all conditions together:", total,
                            MAX_FILTER_VALUES)
            for j, value in enumerate(values):
                if isinstance(value, str) and len(value) > MAX_TEXT_LENGTH:
                    raise _over(f"{part}[{j}]", "value too long:", len(value), MAX_TEXT_LENGTH, " characters")
    for name in ("sortFields", "displayFields", "childDisplayFields"):
        items = merged.get(name)
        if isinstance(items, list) and len(items) > MAX_LIST_FIELDS:
            raise _over(name, "too many entries:", len(items), MAX_LIST_FIELDS)
    labels = merged.get("accountCodeLabels")
    if isinstance(labels, Mapping):
        if len(labels) > MAX_ACCOUNT_CODE_LABELS:
            raise _over("accountCodeLabels", "too many account codes:", len(labels), MAX_ACCOUNT_CODE_LABELS)
        for code, label in labels.items():
            if len(str(code)) > MAX_TEXT_LENGTH:
                raise _over("accountCodeLabels", "account code too long:", len(str(code)), MAX_TEXT_LENGTH,
                            " characters")
            if isinstance(label, str) and len(label) > MAX_TEXT_LENGTH:
                raise _over(f"accountCodeLabels.{code}", "label too long:", len(label), MAX_TEXT_LENGTH,
                            " characters")
    thresholds = merged.get("ringDurationThresholds")
    if isinstance(thresholds, list) and len(thresholds) > MAX_RING_THRESHOLDS:
        raise _over("ringDurationThresholds", "too many thresholds:", len(thresholds), MAX_RING_THRESHOLDS)
    if "metadata" in merged:
        depth = _depth(merged["metadata"], MAX_METADATA_DEPTH)
        if depth > MAX_METADATA_DEPTH:
            raise RequestError("metadata", "objects and arrays nested too deep; the limit is "
                               f"{MAX_METADATA_DEPTH} levels")
        try:
            size = len(json.dumps(merged["metadata"], separators=(",", ":"), ensure_ascii=False,
                                  default=str).encode("utf-8"))
        except (RecursionError, ValueError):  # nested too deep for the encoder, or circular
            raise RequestError("metadata", "nested too deeply") from None
        if size > MAX_METADATA_BYTES:
            raise _over("metadata", "too large as JSON:", size, MAX_METADATA_BYTES, " bytes")


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None)


def _resolve_period(req: RequestBody, tz: str, reference: datetime,
                    settle_lag: timedelta) -> dates.ResolvedPeriod | None:
    """The date filter as a UTC period; no ``dateFilter`` means no date restriction."""
    df = req.metadata.dateFilter
    if df is None or (df.presetName is None and df.presetFilterObject is None and df.start is None
                      and df.end is None):
        return None
    try:
        preset = dates.PresetFilter.from_dict(df.presetFilterObject) if df.presetFilterObject else None
        return dates.resolve_period(
            df.presetName, preset, tz, reference, settle_lag=settle_lag,
            week_start=dates.week_start_for_locale(req.locale), custom_start=df.start,
            custom_end=df.end, days_of_week=df.daysOfWeek,
        )
    except dates.DateFilterError as exc:
        raise RequestError(exc.part, str(exc), exc.choices) from None


def _field_for_filter(template: Template, name: str, part: str) -> tuple[TemplateField, Literal["segment", "result"]]:
    """Which field a filter names, and where it applies.

    A segment field (SPEC §1 plus the derived ones) filters the segments *before* the template runs
    -- also for aggregate templates, whose ``ans``/``ring`` columns are sums of those segment
    fields. A field only the template outputs (``calls``, ``answerRate``, ``segments`` …) filters
    the template's result rows.
    """
    seg = segment_field(name)
    if seg is not None:
        return seg, "segment"
    own = template.field(name)
    if own is not None and own.name != "children":
        return own, "result"
    choices = sorted({f.name for f in template.fields if f.name != "children"} | set(_segment_names()))
    raise RequestError(part, f"unknown field {name!r} for template {template.name}", choices)


def _segment_names() -> list[str]:
    return [f.name for f in SEGMENT_FIELDS]


def _resolve_condition(template: Template, cond: FilterCondition, tz: str,
                       part: str) -> tuple[Condition, dict[str, Any]]:
    fld, stage = _field_for_filter(template, cond.fieldName, f"{part}.fieldName")
    op = cond.operator
    operator = OPERATORS.get(op)
    if operator is None:
        raise RequestError(f"{part}.operator", f"unknown operator {op!r}", list(OPERATORS))
    values = cond.values
    wrong = operator.arity_error(len(values))
    if wrong is not None:
        raise RequestError(f"{part}.values", wrong)
    if operator.text_only and fld.type != "string":
        raise RequestError(f"{part}.operator", f"operator {op!r} applies to text fields; "
                           f"{fld.name} is {fld.type}", [o.name for o in OPERATORS.values() if not o.text_only])
    typed = tuple(_coerce(fld, v, tz, f"{part}.values[{j}]") for j, v in enumerate(values))
    if op == "between" and typed[0] is not None and typed[1] is not None and typed[1] < typed[0]:
        raise RequestError(f"{part}.values", "between: the second value (end) is before the first (start)")
    echo_values = [_utc_iso(v.replace(tzinfo=UTC)) if isinstance(v, datetime) else v for v in typed]
    echoed = {"fieldName": fld.name, "operator": op, "values": echo_values}
    return Condition(fld.name, op, typed, stage), echoed


_INT64 = 2**63


def _coerce(fld: TemplateField, value: Any, tz: str, part: str) -> Any:
    """A filter value checked against the field type, converted to what the engine compares."""
    kind = fld.type
    if kind == "string":
        if not isinstance(value, str):
            raise RequestError(part, f"{fld.name} is a text field; expected a string, got {_show(value)}")
        return value
    if kind == "timestamp":
        if not isinstance(value, str):
            raise RequestError(part, f"{fld.name} is a timestamp; expected an ISO 8601 string, got {_show(value)}")
        try:
            return _naive(dates.parse_timestamp(value, tz, part=part))
        except dates.DateFilterError as exc:
            raise RequestError(part, str(exc)) from None
    if kind == "date":
        if not isinstance(value, str):
            raise RequestError(part, f"{fld.name} is a date; expected YYYY-MM-DD, got {_show(value)}")
        try:
            return datetime.strptime(value, "%Y-%m-%d").date()
        except ValueError:
            raise RequestError(part, f"{fld.name} is a date; expected YYYY-MM-DD, got {_show(value)}") from None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RequestError(part, f"{fld.name} is a {kind} field; expected a number, got {_show(value)}")
    if kind == "flag" and value not in (0, 1):
        raise RequestError(part, f"{fld.name} is a 0/1 flag, got {_show(value)}", ["0", "1"])
    if kind in ("int", "flag"):
        if value != int(value):
            raise RequestError(part, f"{fld.name} is an integer field, got {_show(value)}")
        if not -_INT64 <= int(value) < _INT64:
            raise RequestError(part, f"{fld.name}: {_show(value)} is outside the 64-bit integer range")
        return int(value)
    return float(value)


def _resolve_display(template: Template, req: RequestBody,
                     child_fields: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    if req.ignoreDisplayFields:
        names = [f.name for f in template.fields]
        echo = [d.model_dump() for d in req.displayFields]
    elif req.displayFields:
        names = []
        for i, d in enumerate(req.displayFields):
            if template.field(d.fieldName) is None:
                raise RequestError(f"displayFields[{i}].fieldName",
                                   f"unknown field {d.fieldName!r} for template {template.name}",
                                   [f.name for f in template.fields])
            if d.fieldName not in names:
                names.append(d.fieldName)
        echo = [d.model_dump() for d in req.displayFields]
    else:
        names = [f.name for f in template.fields if f.default_display]
        echo = [{"fieldName": n, "mandatory": False} for n in names]
    if template.kind in ("segment", "call") and "docId" not in names:
        names.append("docId")  # list rows always carry their identity (the seed appends it last)
    if "children" in names:
        names.remove("children")
    if child_fields:
        names.append("children")  # childDisplayFields ask for the nested segments
    return names, echo


def _resolve_children(template: Template, req: RequestBody) -> list[str]:
    names: list[str] = []
    known = [f.name for f in SEGMENT_FIELDS]
    for i, item in enumerate(req.childDisplayFields):
        name = item if isinstance(item, str) else item.fieldName
        if template.kind != "call":
            raise RequestError("childDisplayFields", f"template {template.name} has one row per "
                               f"{'segment' if template.kind == 'segment' else 'group'}; child rows "
                               "exist only for one-row-per-call templates",
                               [t.name for t in TEMPLATES.values() if t.kind == "call"])
        if name not in known:
            raise RequestError(f"childDisplayFields[{i}]", f"unknown segment field {name!r}", known)
        if name not in names:
            names.append(name)
    return names


def _resolve_sort(template: Template, req: RequestBody) -> list[tuple[str, bool]]:
    out: list[tuple[str, bool]] = []
    for i, s in enumerate(req.sortFields):
        fld = template.field(s.fieldName)
        if fld is None or fld.name == "children":
            raise RequestError(f"sortFields[{i}].fieldName",
                               f"unknown field {s.fieldName!r} for template {template.name}",
                               [f.name for f in template.fields if f.name != "children"])
        d = s.direction
        if isinstance(d, str):
            lowered = d.strip().lower()
            if lowered not in ("asc", "desc", "0", "1"):
                raise RequestError(f"sortFields[{i}].direction", f"unknown direction {d!r}",
                                   ["0", "1", "asc", "desc"])
            desc = lowered in ("desc", "1")
        else:
            if isinstance(d, bool) or d not in (0, 1):
                raise RequestError(f"sortFields[{i}].direction", f"unknown direction {d!r}",
                                   ["0", "1", "asc", "desc"])
            desc = d == 1
        out.append((fld.name, desc))
    return out
