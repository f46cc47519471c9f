"""Small-count disclosure control on the way out: what a public FeatureCollection may not show, whoever made it.

The analysis withholds a target area's counts by type below the collection's ``suppress_below``, but an area's
total (``records``, ``weighted_records``) would still give a small count away, directly (a total of 2) or by
difference (a total of 5 beside a shown 3 and a withheld one). So wherever a count by type is withheld, or the
total itself is small, the totals are withheld too. Hotspot cells are suppressed whole by the analysis already.
"""

TOTALS = ("records", "weighted_records")


def withhold_small_totals(collection):
    """A copy of ``collection`` with the totals of target areas withheld (None, ``suppressed`` true) wherever they
    could reveal fewer than ``analysis.suppress_below`` records; unchanged when nothing is suppressed.

    >>> area = {"type": "Feature", "geometry": None,
    ...         "properties": {"records": 5, "weighted_records": 5.0, "counts": {"burglary": 3, "drugs": None}}}
    >>> out = withhold_small_totals({"type": "FeatureCollection", "analysis": {"suppress_below": 3},
    ...                              "features": [area]})
    >>> out["features"][0]["properties"]["records"], area["properties"]["records"]
    (None, 5)
    """
    threshold = (collection.get("analysis") or {}).get("suppress_below") or 0
    if threshold <= 1:
        return collection
    features = []
    for feature in collection.get("features") or []:
        properties = feature.get("properties") or {}
        counts = properties.get("counts")
        records = properties.get("records")
        if isinstance(counts, dict) and isinstance(records, int) and (
                None in counts.values() or 0 < records < threshold):
            properties = {**properties, **{name: None for name in TOTALS if name in properties}, "suppressed": True}
            feature = {**feature, "properties": properties}
        features.append(feature)
    return {**collection, "features": features}
