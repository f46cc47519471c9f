"""Progress figures for a zone's lighting reports: what the steering group and the newsletter quote.

Pure computation on report properties (no Flask, no store): reported, fixed and open counts; the median days from a
report to its fix; the reports still open after :data:`OVERDUE_DAYS` days; and reported and fixed per calendar month
(UK time).

Definitions, so that a quoted figure can be checked by hand:

* **reported**: every report given (the caller passes only publicly visible ones);
* **fixed**: reports whose status is ``fixed`` now (a reopened report is open, not fixed);
* **open**: reports whose status is one of the layer's open statuses; the rest are **closed without a fix**
  (not the council's, duplicates, no further action, closed not fixed);
* **days to fix**: for each report fixed now, from its ``created`` to the ``at`` of the last history entry that made
  it ``fixed`` (reports fixed with no such entry, e.g. imported as fixed, are left out of the median and the chart);
* **open longer than 28 days**: open now and reported more than 28 days (28 × 24 h) before ``now``;
* **monthly**: ``reported`` counts reports by the month they were made, ``fixed`` counts the reports fixed now by the
  month of that fix; every month from the first one with either to the month of ``now``, with zeros in between.
"""

import statistics
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

OVERDUE_DAYS = 28
FIXED = "fixed"
LOCAL_TIME = ZoneInfo("Europe/London")


@dataclass(frozen=True)
class Month:
    month: str  # "YYYY-MM", UK time
    reported: int = 0
    fixed: int = 0


@dataclass(frozen=True)
class Overdue:
    ref: str
    status: str
    created: str
    days_open: int


@dataclass(frozen=True)
class Progress:
    reported: int
    fixed: int
    open: int
    closed_not_fixed: int
    median_days_to_fix: float | None  # one decimal; None when nothing has been fixed
    fixes_timed: int  # how many fixes the median is taken over
    open_over_days: int
    overdue: list = field(default_factory=list)  # Overdue, oldest first
    months: list = field(default_factory=list)  # Month, oldest first
    overdue_days: int = OVERDUE_DAYS

    def as_dict(self):
        return asdict(self)


def parse_time(text):
    """A stored ISO-8601 timestamp as an aware datetime, or None."""
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def status_changes(properties):
    """The records of a feature's ``history`` that changed its status, oldest first. A record that leaves the status
    as it was (a note, a priority, a moderator hiding text) is not one: it must not restart a clock."""
    return [record for record in properties.get("history") or []
            if isinstance(record, dict) and record.get("from") != record.get("to")]


def last_fix(properties):
    """The history record of the report's last fix, or None."""
    return next((record for record in reversed(status_changes(properties)) if record.get("to") == FIXED), None)


def fix_time(properties):
    """When the report last became fixed, from its history; None without such an entry."""
    record = last_fix(properties)
    return parse_time(record.get("at")) if record else None


def month_of(moment):
    return moment.astimezone(LOCAL_TIME).strftime("%Y-%m")


def month_range(first, last):
    """Every "YYYY-MM" from ``first`` to ``last`` inclusive."""
    year, month = map(int, first.split("-"))
    months = []
    while f"{year:04d}-{month:02d}" <= last:
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def progress(reports, open_statuses, now=None, overdue_days=OVERDUE_DAYS):
    """The :class:`Progress` of ``reports`` (an iterable of property dicts with ``status``, ``created``, ``history``
    and ``ref``); ``open_statuses`` are the layer's statuses that still need action."""
    now = now or datetime.now(timezone.utc)
    open_statuses = set(open_statuses)
    counts = {"reported": 0, "fixed": 0, "open": 0}
    durations, overdue = [], []
    reported_by_month, fixed_by_month = {}, {}
    limit = timedelta(days=overdue_days)
    for properties in reports:
        status = properties.get("status")
        created = parse_time(properties.get("created"))
        counts["reported"] += 1
        if created is not None:
            key = month_of(created)
            reported_by_month[key] = reported_by_month.get(key, 0) + 1
        if status == FIXED:
            counts["fixed"] += 1
            fixed = fix_time(properties)
            if fixed is not None:
                key = month_of(fixed)
                fixed_by_month[key] = fixed_by_month.get(key, 0) + 1
                if created is not None:
                    durations.append((fixed - created).total_seconds() / 86400)
        elif status in open_statuses:
            counts["open"] += 1
            if created is not None and now - created > limit:
                overdue.append(Overdue(ref=properties.get("ref") or properties.get("id"), status=status,
                                       created=properties.get("created"), days_open=(now - created).days))
    overdue.sort(key=lambda item: (-item.days_open, item.created, item.ref or ""))
    months = []
    seen = sorted(set(reported_by_month) | set(fixed_by_month))
    if seen:
        last = max(seen[-1], month_of(now))
        months = [Month(m, reported_by_month.get(m, 0), fixed_by_month.get(m, 0)) for m in month_range(seen[0], last)]
    return Progress(
        reported=counts["reported"], fixed=counts["fixed"], open=counts["open"],
        closed_not_fixed=counts["reported"] - counts["fixed"] - counts["open"],
        median_days_to_fix=round(statistics.median(durations), 1) if durations else None,
        fixes_timed=len(durations), open_over_days=len(overdue), overdue=overdue, months=months,
        overdue_days=overdue_days)
