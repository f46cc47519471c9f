"""Progress figures from hand-made histories, checked against numbers worked out by hand."""

from datetime import datetime, timezone

from mapper.analysis.progress import Month, month_range, progress

OPEN = ("open", "confirmed", "investigating", "action-scheduled", "in-progress")
NOW = datetime(2026, 3, 15, 12, 0, tzinfo=timezone.utc)


def report(ref, created, status="open", history=()):
    return {"ref": ref, "created": created, "status": status,
            "history": [{"at": at, "from": old, "to": new, "public_note": None} for at, old, new in history]}


REPORTS = [
    # Fixed after 2 days (January).
    report("BF-AAAAA", "2026-01-05T10:00:00.000Z", "fixed", [("2026-01-07T10:00:00.000Z", "open", "fixed")]),
    # Confirmed, then fixed after 10.5 days (fixed in February).
    report("BF-BBBBB", "2026-01-25T00:00:00.000Z", "fixed", [("2026-01-26T00:00:00.000Z", "open", "confirmed"),
                                                            ("2026-02-04T12:00:00.000Z", "confirmed", "fixed")]),
    # Fixed, reopened, fixed again: the last fix counts (30 days after the report, in March).
    report("BF-CCCCC", "2026-02-01T09:00:00.000Z", "fixed", [("2026-02-03T09:00:00.000Z", "open", "fixed"),
                                                            ("2026-02-10T09:00:00.000Z", "fixed", "open"),
                                                            ("2026-03-03T09:00:00.000Z", "open", "fixed")]),
    # Fixed then reopened: open now, not fixed; reported 2026-01-10 so open longer than 28 days.
    report("BF-DDDDD", "2026-01-10T08:00:00.000Z", "open", [("2026-01-12T08:00:00.000Z", "open", "fixed"),
                                                           ("2026-01-20T08:00:00.000Z", "fixed", "open")]),
    # Open, 28 days and 1 hour old: longer than 28 days.
    report("BF-EEEEE", "2026-02-15T11:00:00.000Z", "in-progress",
           [("2026-02-16T11:00:00.000Z", "open", "in-progress")]),
    # Open, exactly 28 days old: not longer than 28 days.
    report("BF-FFFFF", "2026-02-15T12:00:00.000Z"),
    # Closed without a fix.
    report("BF-GGGGG", "2026-03-01T10:00:00.000Z", "duplicate", [("2026-03-02T10:00:00.000Z", "open", "duplicate")]),
]


def test_counts_median_overdue_and_months_by_hand():
    figures = progress(REPORTS, OPEN, now=NOW)
    assert (figures.reported, figures.fixed, figures.open, figures.closed_not_fixed) == (7, 3, 3, 1)
    assert figures.median_days_to_fix == 10.5  # 2, 10.5 and 30 days
    assert figures.fixes_timed == 3
    assert figures.open_over_days == 2
    assert [(o.ref, o.status, o.days_open) for o in figures.overdue] == [("BF-DDDDD", "open", 64),
                                                                         ("BF-EEEEE", "in-progress", 28)]
    assert figures.months == [Month("2026-01", 3, 1), Month("2026-02", 3, 1), Month("2026-03", 1, 1)]
    assert sum(m.reported for m in figures.months) == figures.reported
    assert sum(m.fixed for m in figures.months) == figures.fixed


def test_median_of_an_even_number_and_rounding():
    reports = [report(f"BF-{i}", "2026-01-01T00:00:00.000Z", "fixed", [(at, "open", "fixed")])
               for i, at in enumerate(["2026-01-02T00:00:00.000Z", "2026-01-03T08:00:00.000Z",
                                       "2026-01-05T00:00:00.000Z", "2026-01-09T00:00:00.000Z"])]
    # 1, 2.333..., 4 and 8 days: the median is (2.333 + 4) / 2 = 3.1666 -> 3.2
    assert progress(reports, OPEN, now=NOW).median_days_to_fix == 3.2


def test_months_are_uk_months_and_gaps_are_zero():
    reports = [
        report("BF-A", "2025-10-31T23:30:00.000Z"),  # 31 Oct 23:30 UTC is still October in the UK (GMT)
        report("BF-B", "2025-06-30T23:30:00.000Z"),  # 30 Jun 23:30 UTC is 1 Jul 00:30 BST
    ]
    figures = progress(reports, OPEN, now=datetime(2025, 12, 1, tzinfo=timezone.utc))
    assert [(m.month, m.reported) for m in figures.months] == [
        ("2025-07", 1), ("2025-08", 0), ("2025-09", 0), ("2025-10", 1), ("2025-11", 0), ("2025-12", 0)]


def test_nothing_reported_and_fixed_without_a_history_entry():
    empty = progress([], OPEN, now=NOW)
    assert (empty.reported, empty.fixed, empty.open, empty.median_days_to_fix, empty.months) == (0, 0, 0, None, [])
    imported = progress([report("BF-A", "2026-01-01T00:00:00.000Z", "fixed")], OPEN, now=NOW)
    assert (imported.fixed, imported.median_days_to_fix, imported.fixes_timed) == (1, None, 0)
    assert [m.fixed for m in imported.months] == [0, 0, 0]


def test_month_range_crosses_years():
    assert month_range("2025-11", "2026-02") == ["2025-11", "2025-12", "2026-01", "2026-02"]


def test_a_note_or_moderation_after_the_fix_does_not_move_the_fix():
    fixed = report("BF-HHHHH", "2026-01-05T10:00:00.000Z", "fixed", [("2026-01-07T10:00:00.000Z", "open", "fixed"),
                                                                    ("2026-03-01T10:00:00.000Z", "fixed", "fixed")])
    figures = progress([fixed], OPEN, now=NOW)
    assert figures.median_days_to_fix == 2
    assert figures.months[0] == Month("2026-01", 1, 1)
