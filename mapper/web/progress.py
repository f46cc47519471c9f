"""The public progress page of a zone's lighting reports (``/zones/<zone>/progress``) and its figures as JSON.

The figures come from :mod:`mapper.analysis.progress`; this module only reads the store and draws. The monthly chart
is an SVG drawn here (no JavaScript), with a title and description for screen readers, and the same numbers in a
data table beneath it.
"""

from datetime import date, datetime, timezone

from flask import Blueprint, jsonify, render_template
from flask_babel import format_date
from flask_babel import gettext as _

from mapper.analysis.progress import progress
from mapper.web.context import get_schema, get_store, get_zones

bp = Blueprint("progress", __name__)

LAYER = "lights"
# The chart's drawing box (SVG user units): bars are scaled to the tallest month.
CHART_HEIGHT, CHART_TOP, CHART_BOTTOM, CHART_LEFT, GROUP_WIDTH, BAR_WIDTH = 200, 16, 40, 36, 44, 16


def utcnow():
    return datetime.now(timezone.utc)


def zone_progress(zone_id, now=None):
    """(zone, layer, Progress) for the zone's publicly visible lighting reports."""
    zone = get_zones().get(zone_id)
    layer = get_schema().layer(LAYER)
    public = set(layer.public_statuses)
    reports = (feature["properties"] for feature in get_store().features(zone.id, layer.name)
               if feature["properties"].get("status") in public)
    return zone, layer, progress(reports, layer.open_statuses, now=now or utcnow())


@bp.get("/zones/<zone_id>/progress.json")
def progress_json(zone_id):
    zone, layer, figures = zone_progress(zone_id)
    body = {"zone": zone.id, "zone_name": zone.name, "layer": layer.name,
            "generated": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"), **figures.as_dict()}
    return jsonify(body)


@bp.get("/zones/<zone_id>/progress")
def progress_page(zone_id):
    zone, layer, figures = zone_progress(zone_id)
    return render_template("progress.html", zone=zone, figures=figures, chart=chart(figures.months),
                           status_label=layer.status_label)


def month_label(month, form="MMM y"):
    year, number = map(int, month.split("-"))
    return format_date(date(year, number, 1), form)


def chart(months):
    """Bar positions for the monthly SVG: one group per month, reported then fixed."""
    tallest = max([m.reported for m in months] + [m.fixed for m in months] + [1])
    plot = CHART_HEIGHT - CHART_TOP - CHART_BOTTOM
    baseline = CHART_TOP + plot

    def bar(value, x):
        height = round(plot * value / tallest, 1)
        return {"x": x, "y": round(baseline - height, 1), "height": height, "value": value}

    groups = []
    for index, month in enumerate(months):
        x = CHART_LEFT + index * GROUP_WIDTH + 4
        groups.append({"month": month.month, "label": month_label(month.month), "x": x,
                       "reported": bar(month.reported, x), "fixed": bar(month.fixed, x + BAR_WIDTH + 2)})
    ticks = sorted({0, tallest // 2, tallest})
    return {"width": CHART_LEFT + max(len(months), 1) * GROUP_WIDTH + 8, "height": CHART_HEIGHT,
            "baseline": baseline, "left": CHART_LEFT, "bar_width": BAR_WIDTH, "groups": groups,
            "ticks": [{"value": t, "y": round(baseline - plot * t / tallest, 1)} for t in ticks],
            "first": month_label(months[0].month, "MMMM y") if months else "",
            "last": month_label(months[-1].month, "MMMM y") if months else "",
            "title": _("Lighting reports made and fixed each month")}
