"""Hotspot surfaces on a zone's grid: Getis-Ord Gi* (as ArcGIS Hot Spot Analysis and PySAL esda) and quartic
kernel density, from one or more layers, each filtered and weighted, in a date window.

Everything is whole-grid array work: points are binned once, and every neighbourhood sum is one correlation of the
grid with a disc (Gi*) or quartic (density) kernel. :func:`hotspot_layer` is what the web and the CLI call.
"""

import math
import re
from dataclasses import dataclass

import numpy as np
import orjson
from scipy import ndimage, signal, special

from mapper.analysis.grid import (bin_points, cell_polygons, check_length, grid_for_zone, points_to_metres)
from mapper.errors import ValidationError

# (Gi_Bin level, significance level alpha): 99, 95 and 90 % confidence, as ArcGIS.
CONFIDENCE_LEVELS = ((3, 0.01), (2, 0.05), (1, 0.10))
BIN_LABELS = {3: "Hot Spot with 99% Confidence", 2: "Hot Spot with 95% Confidence",
              1: "Hot Spot with 90% Confidence", 0: "Not Significant",
              -1: "Cold Spot with 90% Confidence", -2: "Cold Spot with 95% Confidence",
              -3: "Cold Spot with 99% Confidence"}
DENSITY_MULTIPLES = (1, 2, 3)  # density classes: at or above 1x, 2x and 3x the study area's mean cell value
FFT_ABOVE = 1024  # kernels with more cells than this are convolved by FFT (ndimage's direct sum gets slow)
MONTH = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
DATE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])(-\d{2})?$")


# -- inputs --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LayerInput:
    """One input layer: its name, filter terms (category ids, statuses, or ``open``) and weight."""

    layer: str
    terms: tuple = ()
    weight: float = 1.0

    @property
    def label(self):
        """A field-name-safe label, e.g. ``crime_anti_social_behaviour``."""
        return re.sub(r"[^a-z0-9]+", "_", "_".join((self.layer, *self.terms)).lower()).strip("_")


def parse_layer_input(text):
    """``LAYER[:FILTER[:WEIGHT]]`` as a :class:`LayerInput`; FILTER joins terms with ``+``.

    >>> parse_layer_input("crime:anti-social-behaviour")
    LayerInput(layer='crime', terms=('anti-social-behaviour',), weight=1.0)
    >>> parse_layer_input("lights:open+dark-spot:2")
    LayerInput(layer='lights', terms=('open', 'dark-spot'), weight=2.0)
    """
    if isinstance(text, LayerInput):
        return text
    parts = str(text).split(":")
    if len(parts) > 3 or not parts[0]:
        raise ValidationError(f"A layer is LAYER[:FILTER[:WEIGHT]], got {text!r}.", field="layer")
    terms = tuple(term for term in (parts[1].split("+") if len(parts) > 1 else ()) if term and term != "all")
    weight = 1.0
    if len(parts) == 3:
        try:
            weight = float(parts[2])
        except ValueError:
            weight = math.nan
        if not math.isfinite(weight) or weight <= 0:
            raise ValidationError(f"The weight in {text!r} must be a positive number.", field="layer")
    return LayerInput(parts[0], terms, weight)


def resolve_filter(layer, terms):
    """``(categories, statuses)`` sets (None: any) for filter terms on a schema layer.

    A term is a category id, a status, or ``open`` (the layer's open statuses). Unknown terms are refused with the
    choices named.
    """
    categories, statuses = set(), set()
    for term in terms:
        if term in layer.category_ids:
            categories.add(term)
        elif term == "open":
            statuses.update(layer.open_statuses)
        elif term in layer.statuses:
            statuses.add(term)
        else:
            raise ValidationError(f"Unknown filter {term!r} for layer {layer.name!r}. Use a category "
                                  f"({', '.join(layer.category_ids)}), a status ({', '.join(layer.statuses)}) "
                                  f"or 'open'.", field="layer")
    return categories or None, statuses or None


def parse_window_bound(text, name):
    """``YYYY-MM`` or ``YYYY-MM-DD`` (None stays None), or a ValidationError."""
    if text is None or text == "":
        return None
    if not isinstance(text, str) or not DATE.match(text):
        raise ValidationError(f"{name!r} must be YYYY-MM or YYYY-MM-DD, got {text!r}.", field=name)
    return text


@dataclass(frozen=True)
class LayerPoints:
    """The selected points of one input: metres, weight, and what target areas report (category, location)."""

    source: LayerInput
    x: np.ndarray
    y: np.ndarray
    category: np.ndarray
    location: np.ndarray

    def __len__(self):
        return len(self.x)


def select_points(store, zone_id, layer, source, start=None, end=None):
    """The points of one input layer in a zone, filtered, within [start, end] (inclusive, by prefix).

    Crime is dated by its police.uk ``month``; every other layer by ``created``.
    """
    features = store.query(zone_id, layer.name)
    categories, statuses = resolve_filter(layer, source.terms)
    mask = np.ones(len(features), dtype=bool)
    if categories is not None:
        mask &= np.isin(features.columns["category"], list(categories))
    if statuses is not None:
        mask &= np.isin(features.columns["status"], list(statuses))
    features = features.select(mask)
    dated_by_month = "month" in layer.properties
    needs = ["location"] + (["month"] if dated_by_month else [])
    properties = read_properties(features, needs) if len(features) else {name: np.array([], object) for name in needs}
    if start is not None or end is not None:
        dates = properties["month"] if dated_by_month else features.columns["created"]
        mask = within_window(dates, start, end)
        features = features.select(mask)
        properties = {name: values[mask] for name, values in properties.items()}
    x, y = points_to_metres(features.lon, features.lat)
    return LayerPoints(source, x, y, np.asarray(features.columns["category"], object), properties["location"])


def read_properties(features, names):
    """Object arrays of properties that the store keeps no column for, read from the stored JSON lines."""
    parsed = [orjson.loads(line)["properties"] for line in features.lines]
    return {name: np.array([p.get(name) for p in parsed], dtype=object) for name in names}


def within_window(dates, start, end):
    """Which ISO dates (or months) fall in [start, end], both inclusive and compared at their own precision.

    >>> within_window(np.array(["2023-12", "2024-01", "2024-06", None], object), "2024-01", "2024-05").tolist()
    [False, True, False, False]
    """
    values = np.array([d if isinstance(d, str) else "" for d in dates], dtype="U32")
    mask = values != ""
    if start is not None:
        mask &= values.astype(f"U{len(start)}") >= start
    if end is not None:
        mask &= values.astype(f"U{len(end)}") <= end
    return mask


def collect_points(store, zone, schema, inputs, start=None, end=None):
    """:class:`LayerPoints` for each input (parsed from ``LAYER[:FILTER[:WEIGHT]]`` text or given)."""
    inputs = [parse_layer_input(item) for item in inputs]
    if not inputs:
        raise ValidationError("Name at least one layer.", field="layer")
    start, end = parse_window_bound(start, "from"), parse_window_bound(end, "to")
    return [select_points(store, zone.id, schema.layer(source.layer), source, start, end) for source in inputs]


def count_cells(grid, layers):
    """Per-layer counts (dict label -> array), their unweighted total and their weighted sum, per cell."""
    counts = {points.source.label: bin_points(grid, points.x, points.y) for points in layers}
    total = sum(counts.values(), np.zeros(grid.shape))
    weighted = sum((counts[p.source.label] * p.source.weight for p in layers), np.zeros(grid.shape))
    return counts, total, weighted


def withheld_cells(counts, total, suppress_below):
    """Cells whose counts a public output withholds: those holding 1 to ``suppress_below - 1`` records in all or of
    any one layer (a cell of four burglaries and one robbery would show the robbery, and its total would give it away
    by difference). All False when suppression is off (None, 0 or 1)."""
    if not suppress_below or suppress_below <= 1:
        return np.zeros(total.shape, bool)
    hidden = (total > 0) & (total < suppress_below)
    for values in counts.values():
        hidden |= (values > 0) & (values < suppress_below)
    return hidden


def layer_summaries(points, counts, hidden, suppress_below):
    """The analysis's ``layers``: each input and its number of records. A public output withholds a layer's number
    (None) when it is small, or when any of the layer's cells is withheld, since the number less the cells shown
    would give the withheld ones away."""
    summaries = []
    for layer in points:
        records = len(layer)
        if suppress_below and suppress_below > 1 and (
                0 < records < suppress_below or bool((counts[layer.source.label][hidden] > 0).any())):
            records = None
        summaries.append({"layer": layer.source.layer, "filter": list(layer.source.terms),
                          "weight": layer.source.weight, "records": records})
    return summaries


# -- Getis-Ord Gi* -------------------------------------------------------------------------------------------------


def disc_kernel(cell, band):
    """Binary weights of the cells whose centres lie within ``band`` metres of the middle one (itself included).

    >>> disc_kernel(50, 100).astype(int).tolist()
    [[0, 0, 1, 0, 0], [0, 1, 1, 1, 0], [1, 1, 1, 1, 1], [0, 1, 1, 1, 0], [0, 0, 1, 0, 0]]
    """
    reach = int(math.floor(band / cell + 1e-9))
    offsets = np.arange(-reach, reach + 1) * float(cell)
    dx, dy = np.meshgrid(offsets, offsets)
    # A hair of tolerance so that a centre at exactly `band` (PySAL's DistanceBand includes it) is never lost.
    return (dx * dx + dy * dy <= band * band * (1 + 1e-12)).astype(float)


def correlate(values, kernel):
    """Sum of ``kernel``-weighted neighbours of every cell, zero beyond the grid's edge."""
    if kernel.size <= FFT_ABOVE:
        return ndimage.correlate(values, kernel, mode="constant", cval=0.0)
    # Symmetric kernels only, so convolution is correlation.
    return signal.fftconvolve(values, kernel, mode="same")


@dataclass(frozen=True, eq=False)
class GiStar:
    """Gi* per cell of a grid (arrays of ``grid.shape``; outside the study area z is 0 and p is 1)."""

    z: np.ndarray
    p: np.ndarray
    neighbours: np.ndarray
    bins: np.ndarray


def gi_star(values, mask, kernel, fdr=True):
    """Getis-Ord Gi* z-scores of ``values`` over the cells where ``mask`` is True, with binary ``kernel`` weights.

    The same statistic, moments and z-score as ``esda.G_Local(y, w, transform='B', star=True)`` (Getis & Ord 1992,
    Ord & Getis 1995): global mean and variance over the study area's n cells, each cell its own neighbour.
    P-values are two-sided; ``Gi_Bin`` levels use Benjamini-Hochberg FDR unless ``fdr`` is False.

    Examples
    --------
    >>> values = np.zeros((5, 5)); values[2, 2] = 10
    >>> result = gi_star(values, np.ones((5, 5), bool), disc_kernel(1, 1))
    >>> round(float(result.z[2, 2]), 3), int(result.neighbours[2, 2]), int(result.neighbours[0, 0])
    (2.0, 5, 3)
    """
    mask = np.asarray(mask, bool)
    y = np.where(mask, np.asarray(values, float), 0.0)
    n = int(mask.sum())
    neighbours = np.rint(correlate(mask.astype(float), kernel)) * mask
    z = np.zeros(mask.shape)
    total = y.sum()
    if n > 1 and total != 0:
        lag = correlate(y, kernel)
        mean = total / n
        variance = (y * y).sum() / n - mean * mean
        # esda's order of operations, so that the z-scores agree to the last few bits.
        expected = neighbours / n
        spread = neighbours * (n - neighbours)
        spread /= n - 1
        spread *= 1 / n ** 2
        spread *= variance / mean ** 2
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (lag / total - expected) / np.sqrt(spread)
        z = np.where(mask & np.isfinite(z), z, 0.0)
    p = np.where(mask, two_sided_p(z), 1.0)
    return GiStar(z, p, neighbours.astype(np.int64), confidence_bins(z, p, mask, fdr=fdr))


def two_sided_p(z):
    """Two-sided p-value of a standard normal z-score."""
    return 2.0 * special.ndtr(-np.abs(z))


def fdr_cutoff(p, alpha, presorted=False):
    """Benjamini-Hochberg: the largest p-value p_(k) with p_(k) <= k/m alpha (m tests), or -1 when none passes.

    A test is significant at ``alpha`` when its p-value is at most the cutoff.

    >>> fdr_cutoff(np.array([0.001, 0.008, 0.039, 0.041, 0.042, 0.06, 0.074, 0.205, 0.212, 0.216]), 0.05)
    0.008
    """
    p = np.asarray(p, float).ravel() if presorted else np.sort(np.asarray(p, float).ravel())
    if p.size == 0:
        return -1.0
    passing = np.flatnonzero(p <= np.arange(1, p.size + 1) / p.size * alpha)
    return float(p[passing[-1]]) if passing.size else -1.0


def confidence_bins(z, p, mask, fdr=True):
    """``Gi_Bin``: +-3, 2, 1 at 99, 95, 90 % confidence (sign of z), 0 otherwise; FDR over the study area."""
    bins = np.zeros(z.shape, dtype=np.int64)
    ordered = np.sort(p[mask]) if fdr else None
    for level, alpha in sorted(CONFIDENCE_LEVELS):
        cutoff = fdr_cutoff(ordered, alpha, presorted=True) if fdr else alpha
        bins[mask & (p <= cutoff)] = level
    return bins * np.sign(z).astype(np.int64)


def gi_star_grid(grid, values, band=200.0, fdr=True):
    """Gi* of per-cell ``values`` (e.g. weighted counts) on ``grid``'s study area, with a ``band``-metre disc."""
    band = check_length(band, "band")
    return gi_star(values, grid.mask, disc_kernel(grid.cell, band), fdr=fdr)


# -- kernel density ------------------------------------------------------------------------------------------------


def quartic_kernel(cell, bandwidth):
    """The quartic (biweight) kernel 3/(pi h^2) (1 - d^2/h^2)^2, per m^2, sampled at cell-centre offsets."""
    reach = int(math.floor(bandwidth / cell))
    offsets = np.arange(-reach, reach + 1) * float(cell)
    dx, dy = np.meshgrid(offsets, offsets)
    ratio = (dx * dx + dy * dy) / (bandwidth * bandwidth)
    return np.where(ratio < 1, 3.0 / (math.pi * bandwidth * bandwidth) * (1 - ratio) ** 2, 0.0)


def kernel_density(grid, values, bandwidth=200.0):
    """Quartic kernel density (events per km^2) at every cell centre, from per-cell (weighted) counts.

    Points are binned to their cell centre, then the grid is convolved with the kernel: the same as summing the
    kernel over points placed at their cell centres, with no per-point loop.

    >>> from shapely.geometry import box
    >>> from mapper.analysis.grid import grid_for_boundary
    >>> grid = grid_for_boundary(box(0, 0, 500, 500), cell=50)
    >>> counts = np.zeros(grid.shape); counts[5, 5] = 1
    >>> round(float(kernel_density(grid, counts, 100)[5, 5]), 2)  # 3 / (pi 0.1^2) per km^2
    95.49
    """
    bandwidth = check_length(bandwidth, "bandwidth")
    kernel = quartic_kernel(grid.cell, bandwidth) * 1e6
    density = correlate(np.asarray(values, float), kernel)
    return np.where(density > 1e-9, density, 0.0)  # FFT round-off is not density


def density_classes(density, mask, multiples=DENSITY_MULTIPLES):
    """0 below the first multiple of the study area's mean cell value, else how many multiples it reaches (1...)."""
    inside = density[mask]
    mean = inside.mean() if inside.size else 0.0
    classes = np.zeros(density.shape, dtype=np.int64)
    if mean > 0:
        for level, multiple in enumerate(multiples, start=1):
            classes[mask & (density >= multiple * mean)] = level
    return classes, float(mean)


def density_label(level, multiples=DENSITY_MULTIPLES):
    if level == 0:
        return f"Below {multiples[0]}x the mean"
    return f"At least {multiples[level - 1]}x the mean"


# -- output --------------------------------------------------------------------------------------------------------


def hotspot_features(grid, layers, method="gi", band=200.0, bandwidth=None, fdr=True, suppress_below=3):
    """The study area's cells as GeoJSON Features (lon/lat Polygons) with the method's fields and counts.

    ``suppress_below`` (public outputs): cells with at least one but fewer than that many records, in all or of any
    one layer, have their counts withheld (null, ``suppressed`` true; :func:`withheld_cells`), and statistics are
    rounded so that counts cannot be solved back exactly. None or 0 keeps everything (officers and analysts).
    """
    counts, total, weighted = count_cells(grid, layers)
    rows, columns = np.nonzero(grid.mask)
    fields = {}
    if method == "gi":
        result = gi_star_grid(grid, weighted, band, fdr=fdr)
        fields = {"GiZScore": result.z, "GiPValue": result.p, "NNeighbors": result.neighbours, "Gi_Bin": result.bins}
        labels = [BIN_LABELS[int(b)] for b in result.bins[rows, columns]]
    elif method == "kde":
        density = kernel_density(grid, weighted, bandwidth or band)
        classes, _ = density_classes(density, grid.mask)
        fields = {"density": density, "density_class": classes}
        labels = [density_label(int(c)) for c in classes[rows, columns]]
    else:
        raise ValidationError(f"Unknown method {method!r}; use 'gi' or 'kde'.", field="method")
    suppress = bool(suppress_below) and suppress_below > 1
    hidden = withheld_cells(counts, total, suppress_below)[rows, columns]
    polygons = cell_polygons(grid, rows, columns)
    columns_out = {name: values[rows, columns] for name, values in fields.items()}
    per_layer = {f"count_{label}": values[rows, columns] for label, values in counts.items()}
    features = []
    for position, polygon in enumerate(polygons):
        properties = {"easting": grid.west + columns[position] * grid.cell,
                      "northing": grid.south + rows[position] * grid.cell}
        for name, values in columns_out.items():
            properties[name] = public_number(values[position], name, suppress)
        properties["label"] = labels[position]
        secret = bool(hidden[position])
        properties["count"] = None if secret else int(total[rows[position], columns[position]])
        for name, values in per_layer.items():
            properties[name] = None if secret else int(values[position])
        properties["weighted_count"] = None if secret else float(weighted[rows[position], columns[position]])
        if suppress:
            properties["suppressed"] = secret
        features.append({"type": "Feature", "geometry": polygon_geometry(polygon), "properties": properties})
    return features


PUBLIC_DECIMALS = {"GiZScore": 2, "GiPValue": 3, "density": 1}


def public_number(value, name, suppress):
    if isinstance(value, (np.integer, int)):
        return int(value)
    value = float(value)
    return round(value, PUBLIC_DECIMALS.get(name, 6)) if suppress else value


def polygon_geometry(polygon):
    """A Shapely polygon as a GeoJSON geometry dict with plain-float coordinates."""
    return {"type": "Polygon", "coordinates": [[list(xy) for xy in ring.coords] for ring in
                                               (polygon.exterior, *polygon.interiors)]}


def hotspot_layer(store, zone, layers, method="gi", cell=50.0, band=200.0, bandwidth=None, start=None, end=None,
                  fdr=True, suppress_below=3, *, schema):
    """A hotspot FeatureCollection dict for a zone: what ``mapper hotspots`` writes and the web will serve.

    Parameters
    ----------
    store : mapper.store.Store
    zone : mapper.zones.Zone
    layers : list of str or LayerInput
        ``LAYER[:FILTER[:WEIGHT]]``, e.g. ``crime:anti-social-behaviour``, ``lights:open:2``.
    method : {'gi', 'kde'}
    cell, band : float
        Cell size and Gi* distance band (metres); ``bandwidth`` is the density's (default: ``band``).
    start, end : str, optional
        Inclusive window, ``YYYY-MM`` or ``YYYY-MM-DD`` (crime by its month, other layers by ``created``).
    fdr : bool
        Benjamini-Hochberg correction of the Gi* confidence bins (ArcGIS's default for hot spot analysis).
    suppress_below : int or None
        Public outputs withhold counts of cells with fewer records than this; None or 0 turns it off.
    schema : mapper.schema.Schema
    """
    if method not in ("gi", "kde"):
        raise ValidationError(f"Unknown method {method!r}; use 'gi' or 'kde'.", field="method")
    grid = grid_for_zone(zone, cell)
    points = collect_points(store, zone, schema, layers, start, end)
    features = hotspot_features(grid, points, method, band=band, bandwidth=bandwidth, fdr=fdr,
                                suppress_below=suppress_below)
    counts, total, _ = count_cells(grid, points)
    analysis = {"zone": zone.id, "method": method, "cell_m": grid.cell, "crs_of_grid": "EPSG:27700",
                "layers": layer_summaries(points, counts, withheld_cells(counts, total, suppress_below),
                                          suppress_below),
                "from": start, "to": end, "suppress_below": suppress_below or 0}
    if method == "gi":
        analysis.update(band_m=check_length(band, "band"), fdr=fdr)
    else:
        analysis.update(bandwidth_m=check_length(bandwidth or band, "bandwidth"))
    return {"type": "FeatureCollection", "name": f"{zone.id}-hotspots-{method}", "analysis": analysis,
            "features": features}
