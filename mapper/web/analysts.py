"""Analysts on the web: hotspot grids and Crimestoppers target areas as downloads in every export format
(``/api/zones/<zone>/hotspots.<ext>``, ``/api/zones/<zone>/targets.<ext>``) and as a page
(``/zones/<zone>/hotspots``) whose form works without JavaScript.

Every parameter is checked here, at the edge, by :func:`read_query` (the one parser for the API and the page) and
refused with a 422 that names the field; the analysis itself is ``mapper.analysis`` and the files are
``mapper.export``, exactly as ``mapper hotspots``/``mapper targets`` use them, so the API and the CLI give the same
result for the same parameters.

Public outputs withhold the counts of cells with fewer than ``HOTSPOT_SUPPRESS_BELOW`` records (default 3). Only
:func:`may_see_unsuppressed` lifts that for signed-in officers of the zone.

What a request may cost is bounded (:func:`check_cost`): anonymous callers get grids of at most
``ANALYSIS_PUBLIC_MAX_CELLS`` cells and a per-address rate limit, staff of the zone ``ANALYSIS_STAFF_MAX_CELLS``.
Answers are kept as GeoJSON bytes by layer revision and parameters (:func:`analysis_bytes`), and at most
``ANALYSIS_CONCURRENCY`` are computed at once per process.
"""

import math
import re
from dataclasses import dataclass, replace
from datetime import date

import orjson
from flask import Blueprint, Response, current_app, render_template, request, url_for
from flask_babel import gettext as _

from mapper.analysis.cache import ComputeGate, ResultCache, grid_cells, smallest_cell, zone_bounds
from mapper.analysis.hotspots import BIN_LABELS, DENSITY_MULTIPLES, density_label, hotspot_layer, parse_layer_input
from mapper.analysis.hotspots import resolve_filter
from mapper.analysis.targets import TARGET_METHODS, target_layer
from mapper.errors import LayerNotFound, MapperError, ValidationError
from mapper.export import check_output, collection_formats, file_name, get_format, geojson_bytes, write_collection
from mapper.export.styles import DENSITY_COLOURS, GI_BIN_COLOURS, TARGET_COLOUR
from mapper.export.table import parse_crs
from mapper.store.features import revision
from mapper.web import limits
from mapper.web.context import get_schema, get_store, get_zones

bp = Blueprint("analysts", __name__)

DEFAULT_SUPPRESS_BELOW = 3
MAX_LAYERS = 6
MAX_LAYER_TEXT = 300
CELL_METRES = (10.0, 500.0)
MAX_BAND_METRES = 2000.0  # 40 cells at 50 m: a neighbourhood, not the whole zone
MAX_WEIGHT = 100.0
MAX_SHARE = 0.5
HOTSPOT_METHODS = ("gi", "kde")
DATE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")
YES, NO = ("1", "true", "on", "yes"), ("0", "false", "off", "no")


def may_see_unsuppressed(req):
    """Whether this request may have small counts unsuppressed (``suppression=off``): a signed-in officer or
    administrator whose account covers the zone in the URL."""
    from mapper.web.auth import current_officer

    officer = current_officer()
    zone_id = (req.view_args or {}).get("zone_id")
    return officer is not None and officer.role in ("officer", "admin") and zone_id is not None \
        and officer.can_see(zone_id)


@dataclass(frozen=True)
class AnalysisQuery:
    """Checked parameters of a hotspot or target-area request."""

    layers: tuple  # normalised LAYER:FILTER:WEIGHT texts
    method: str = "gi"
    cell: float = 50.0
    band: float = 200.0
    bandwidth: float = None
    start: str = None
    end: str = None
    fdr: bool = True
    share: float = 0.05
    target_method: str = "counts"
    crs: str = "EPSG:4326"
    suppress_below: int = DEFAULT_SUPPRESS_BELOW

    def hotspot_args(self):
        """Query-string arguments of the hotspot download with these parameters (for links)."""
        args = {"layer": list(self.layers), "method": self.method, "cell": f"{self.cell:g}", "band": f"{self.band:g}",
                "from": self.start, "to": self.end}
        if self.bandwidth is not None:
            args["bandwidth"] = f"{self.bandwidth:g}"
        if not self.fdr:
            args["fdr"] = "0"
        return {key: value for key, value in args.items() if value not in (None, "")}

    def target_args(self):
        args = {"layer": list(self.layers), "method": self.target_method, "share": f"{self.share:g}",
                "cell": f"{self.cell:g}", "band": f"{self.band:g}", "from": self.start, "to": self.end}
        if self.bandwidth is not None:
            args["bandwidth"] = f"{self.bandwidth:g}"
        return {key: value for key, value in args.items() if value not in (None, "")}


# -- parsing -------------------------------------------------------------------------------------------------------


def read_query(args, schema, kind="hotspots", layers=None):
    """An :class:`AnalysisQuery` from a query string (``werkzeug`` MultiDict), or a ValidationError naming the field.

    ``kind`` is ``hotspots`` (``method`` gi|kde), ``targets`` (``method`` counts|gi|kde) or ``page`` (both, the
    target areas' method as ``target_method``); ``layers`` overrides the
    ``layer`` arguments (the page builds them from its form fields).
    """
    texts = list(args.getlist("layer")) if layers is None else list(layers)
    checked = tuple(check_layer(text, schema) for text in texts)
    if not checked:
        raise ValidationError("Name at least one layer, e.g. layer=crime:anti-social-behaviour.", field="layer")
    if len(checked) > MAX_LAYERS:
        raise ValidationError(f"At most {MAX_LAYERS} layers at once; got {len(checked)}.", field="layer")
    cell = number(args, "cell", *CELL_METRES, default=50.0)
    band = number(args, "band", cell, MAX_BAND_METRES, default=200.0, low_name="cell")
    bandwidth = number(args, "bandwidth", cell, MAX_BAND_METRES, default=None, low_name="cell")
    start, end = month_or_day(args, "from"), month_or_day(args, "to")
    if start and end and first_day(start) > last_day(end):
        raise ValidationError(f"'from' ({start}) is after 'to' ({end}).", field="from")
    query = AnalysisQuery(layers=checked, cell=cell, band=band, bandwidth=bandwidth, start=start, end=end,
                          fdr=flag(args, "fdr", True), crs=parse_crs(args.get("crs")),
                          suppress_below=suppression(args))
    if kind == "targets":
        return replace(query, target_method=choice(args, "method", TARGET_METHODS, "counts"),
                       share=number(args, "share", 0.0, MAX_SHARE, default=0.05, open_low=True))
    query = replace(query, method=choice(args, "method", HOTSPOT_METHODS, "gi"))
    if kind == "page":  # the page runs both: the hotspots' method, and the target areas' own
        query = replace(query, target_method=choice(args, "target_method", TARGET_METHODS, "counts"),
                        share=number(args, "share", 0.0, MAX_SHARE, default=0.05, open_low=True))
    return query


def check_layer(text, schema):
    """A ``LAYER[:FILTER[:WEIGHT]]`` text, checked against the schema and normalised; only public records count."""
    if not isinstance(text, str) or not text.strip() or len(text) > MAX_LAYER_TEXT:
        raise ValidationError(f"A layer is LAYER[:FILTER[:WEIGHT]] of at most {MAX_LAYER_TEXT} characters; got "
                              f"{str(text)[:60]!r}.", field="layer")
    source = parse_layer_input(text.strip())
    try:
        layer = schema.layer(source.layer)
    except LayerNotFound:
        raise ValidationError(f"Unknown layer {source.layer[:60]!r}. Layers are: "
                              f"{', '.join(l.name for l in point_layers(schema))}.", field="layer") from None
    if layer.geometry != "Point":
        raise ValidationError(f"Layer {layer.name!r} is not a point layer; hotspots count points.", field="layer")
    if source.weight > MAX_WEIGHT:
        raise ValidationError(f"The weight in {text[:60]!r} must be at most {MAX_WEIGHT:g}.", field="layer")
    terms = list(dict.fromkeys(source.terms))
    resolve_filter(layer, terms)  # refuses unknown categories and statuses, naming the choices
    hidden = [term for term in terms if term in layer.statuses and term not in layer.public_statuses]
    if hidden:
        raise ValidationError(f"Status {hidden[0]!r} of layer {layer.name!r} is not public.", field="layer")
    if set(layer.public_statuses) != set(layer.statuses) and not any(
            term == "open" or term in layer.statuses for term in terms):
        terms += list(layer.public_statuses)  # e.g. assets waiting for a moderator never count
    return f"{layer.name}:{'+'.join(terms)}:{source.weight:g}"


def point_layers(schema):
    return [layer for layer in schema if layer.geometry == "Point"]


def number(args, name, low, high, default, low_name=None, open_low=False):
    text = args.get(name)
    if text is None or text.strip() == "":
        return default
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    too_low = value <= low if open_low else value < low
    if not math.isfinite(value) or too_low or value > high:
        bound = f"more than {low:g}" if open_low else f"at least {low:g}" + (f" (the {low_name})" if low_name else "")
        raise ValidationError(f"'{name}' must be a number {bound} and at most {high:g}; got {text[:40]!r}.",
                              field=name)
    return value


def choice(args, name, allowed, default):
    value = args.get(name) or default
    if value not in allowed:
        raise ValidationError(f"'{name}' must be one of {', '.join(allowed)}; got {value[:40]!r}.", field=name)
    return value


def flag(args, name, default):
    value = (args.get(name) or "").strip().lower()
    if value == "":
        return default
    if value in YES or value in NO:
        return value in YES
    raise ValidationError(f"'{name}' must be 1 or 0; got {value[:40]!r}.", field=name)


def month_or_day(args, name):
    """``YYYY-MM`` or ``YYYY-MM-DD``, a real month or day, or None."""
    text = (args.get(name) or "").strip()
    if not text:
        return None
    match = DATE.match(text)
    try:
        if not match:
            raise ValueError
        date(int(match[1]), int(match[2]), int(match[3] or 1))
    except ValueError:
        raise ValidationError(f"'{name}' must be a month YYYY-MM or a day YYYY-MM-DD; got {text[:40]!r}.",
                              field=name) from None
    return text


def first_day(text):
    return text if len(text) == 10 else text + "-01"


def last_day(text):
    return text if len(text) == 10 else text + "-31"


def suppression(args):
    """How many records a cell needs before its counts are shown (0: all shown)."""
    configured = int(current_app.config.get("HOTSPOT_SUPPRESS_BELOW", DEFAULT_SUPPRESS_BELOW))
    asked = (args.get("suppression") or "").strip().lower()
    if asked in ("", "on"):
        return configured
    if asked != "off":
        raise ValidationError(f"'suppression' must be on or off; got {asked[:40]!r}.", field="suppression")
    if not may_see_unsuppressed(request):
        raise MapperError("Small counts are withheld from public outputs; only signed-in officers and analysts may "
                          "turn suppression off.", field="suppression", code="forbidden", status=403)
    return 0


# -- running -------------------------------------------------------------------------------------------------------


def is_staff_of(zone_id):
    """A signed-in account (any role) that covers ``zone_id``: it may ask for finer grids."""
    from mapper.web.auth import current_officer

    officer = current_officer()
    return officer is not None and officer.can_see(zone_id)


def check_cost(zone, query):
    """Refuse a grid with more cells than the caller may ask for (422 naming ``cell`` and the smallest cell size
    allowed over this zone), before anything is computed."""
    staff = is_staff_of(zone.id)
    bound = int(current_app.config["ANALYSIS_STAFF_MAX_CELLS" if staff else "ANALYSIS_PUBLIC_MAX_CELLS"])
    bounds = zone_bounds(zone)
    cells = grid_cells(bounds, query.cell)
    if cells <= bound:
        return
    smallest = smallest_cell(bounds, bound, low=CELL_METRES[0], high=CELL_METRES[1]) or CELL_METRES[1]
    figures = {"cell": f"{query.cell:g}", "zone": zone.name, "cells": f"{cells:,}", "bound": f"{bound:,}",
               "smallest": smallest}
    if staff:
        message = _("A %(cell)s m grid over %(zone)s would have %(cells)s cells; at most %(bound)s are computed. Use "
                    "cells of at least %(smallest)s m.", **figures)
    else:
        message = _("A %(cell)s m grid over %(zone)s would have %(cells)s cells; without signing in you may ask for "
                    "at most %(bound)s. Use cells of at least %(smallest)s m.", **figures)
    raise ValidationError(message, field="cell")


def analysis_bytes(kind, zone, query):
    """The GeoJSON bytes of a hotspot (``kind`` "hotspots") or target-area ("targets") analysis: from the cache
    when no input layer has a new revision and the parameters are the same, else computed within the gate."""
    store = get_store()
    names = sorted({parse_layer_input(text).layer for text in query.layers})
    revisions = tuple((name, revision(store.query(zone.id, name))) for name in names)
    if kind == "hotspots":
        run, parameters = run_hotspots, (query.method, query.fdr)
    else:
        run, parameters = run_targets, (query.target_method, query.share)
    key = (kind, zone.id, zone.area_m2, revisions, query.layers, parameters, query.cell, query.band, query.bandwidth,
           query.start, query.end, query.suppress_below)
    cache, gate = current_app.extensions["analysis_cache"], current_app.extensions["analysis_gate"]
    return cache.get_or_compute(key, lambda: gate.run(lambda: geojson_bytes(run(zone, query))))


def run_hotspots(zone, query):
    return hotspot_layer(get_store(), zone, list(query.layers), method=query.method, cell=query.cell,
                         band=query.band, bandwidth=query.bandwidth, start=query.start, end=query.end, fdr=query.fdr,
                         suppress_below=query.suppress_below, schema=get_schema())


def run_targets(zone, query):
    """Ranked target areas (small counts, and totals that could reveal them, withheld by the analysis)."""
    return target_layer(get_store(), zone, list(query.layers), method=query.target_method, share=query.share,
                         cell=query.cell, band=query.band, bandwidth=query.bandwidth or 200.0, start=query.start,
                         end=query.end, suppress_below=query.suppress_below, schema=get_schema())


def download(zone, body, subject, output, crs):
    """A download of an analysis's GeoJSON ``body`` (as kept in the cache) in ``output``'s format."""
    if output.extension != "geojson":
        body = write_collection(output, orjson.loads(body), crs)
    response = Response(body, mimetype=output.mimetype)
    disposition = "attachment" if output.attachment else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{file_name(zone.id, subject, output, crs)}"'
    return response


def subject(kind, method, query):
    """The analysis and its layers for a file name, e.g. ``hotspots-gi-crime-anti-social-behaviour``."""
    layers = "-".join(parse_layer_input(text).label for text in query.layers)
    return re.sub(r"[^a-z0-9-]+", "-", f"{kind}-{method}-{layers}".lower()).strip("-")[:100]


@bp.get("/api/zones/<zone_id>/hotspots.<extension>")
@limits.analysis
def hotspots_download(zone_id, extension):
    zone = get_zones().get(zone_id)
    output = get_format(extension)
    query = read_query(request.args, get_schema(), "hotspots")
    check_output(output, query.crs)
    check_cost(zone, query)
    return download(zone, analysis_bytes("hotspots", zone, query), subject("hotspots", query.method, query), output,
                    query.crs)


@bp.get("/api/zones/<zone_id>/targets.<extension>")
@limits.analysis
def targets_download(zone_id, extension):
    zone = get_zones().get(zone_id)
    output = get_format(extension)
    query = read_query(request.args, get_schema(), "targets")
    check_output(output, query.crs)
    check_cost(zone, query)
    return download(zone, analysis_bytes("targets", zone, query), subject("target-areas", query.target_method, query),
                    output, query.crs)


# -- the page ------------------------------------------------------------------------------------------------------


def form_layers(args, schema):
    """``LAYER:FILTER:WEIGHT`` texts from the page's own fields: ``use`` (layer names), ``filter-<layer>`` (terms)
    and ``weight-<layer>``. Checked by :func:`read_query` like any other."""
    texts = []
    known = {layer.name for layer in point_layers(schema)}
    for name in args.getlist("use"):
        if name not in known:
            raise ValidationError(f"Unknown layer {name[:60]!r}.", field="layer")
        terms = "+".join(term for term in args.getlist(f"filter-{name}") if term)
        weight = (args.get(f"weight-{name}") or "1").strip()
        try:
            weight_value = float(weight)
        except ValueError:
            weight_value = math.nan
        if not math.isfinite(weight_value) or not 0 < weight_value <= MAX_WEIGHT:
            raise ValidationError(f"The weight of {name} must be a number above 0 and at most {MAX_WEIGHT:g}; got "
                                  f"{weight[:40]!r}.", field=f"weight-{name}")
        texts.append(f"{name}:{terms}:{weight_value:g}")
    return texts


DEFAULT_FORM = {"use": ["crime"], "filter-crime": ["anti-social-behaviour"]}


@bp.get("/zones/<zone_id>/hotspots")
@limits.analysis
def hotspots_page(zone_id):
    zone, schema = get_zones().get(zone_id), get_schema()
    args = request.args
    submitted = "use" in args or "layer" in args
    result, error = None, None
    try:
        layers = args.getlist("layer") or form_layers(args, schema)
        if submitted:
            query = read_query(args, schema, "page", layers=layers)
            check_cost(zone, query)
            result = page_result(zone, query)
    except ValidationError as refused:
        error = refused
    chosen = form_state(args if submitted else None, schema)
    status = 422 if error else 200
    return render_template("hotspots.html", zone=zone, layers=point_layers(schema), chosen=chosen, result=result,
                           error=error, legend=legend(result["query"].method if result else chosen["method"]),
                           colours={"gi": GI_BIN_COLOURS, "kde": DENSITY_COLOURS, "target": TARGET_COLOUR}), status


def form_state(args, schema):
    """What the form shows: the visitor's choices, or the defaults on a first visit."""
    from werkzeug.datastructures import MultiDict

    args = args if args is not None else MultiDict(DEFAULT_FORM)
    if "layer" in args and "use" not in args:  # opened from an API-style link: tick what the layer texts name
        state = MultiDict()
        for text in args.getlist("layer"):
            try:
                source = parse_layer_input(text)
            except ValidationError:
                continue
            state.add("use", source.layer)
            for term in source.terms:
                state.add(f"filter-{source.layer}", term)
            state[f"weight-{source.layer}"] = f"{source.weight:g}"
        for key in args:
            if key != "layer":
                state[key] = args.get(key)
        args = state
    return {"use": set(args.getlist("use")),
            "filters": {layer.name: set(args.getlist(f"filter-{layer.name}")) for layer in point_layers(schema)},
            "weights": {layer.name: args.get(f"weight-{layer.name}") or "1" for layer in point_layers(schema)},
            "method": args.get("method") if args.get("method") in HOTSPOT_METHODS else "gi",
            "target_method": args.get("target_method") if args.get("target_method") in TARGET_METHODS else "counts",
            "cell": args.get("cell") or "50", "band": args.get("band") or "200",
            "bandwidth": args.get("bandwidth") or "", "from": args.get("from") or "", "to": args.get("to") or "",
            "share": args.get("share") or "0.05", "fdr": (args.get("fdr") or "1").lower() not in NO}


def page_result(zone, query):
    """What the page shows for a query: the hotspot classes, the ranked target areas and every download link."""
    hotspots = orjson.loads(analysis_bytes("hotspots", zone, query))
    targets = orjson.loads(analysis_bytes("targets", zone, query))
    field = "Gi_Bin" if query.method == "gi" else "density_class"
    classes = {}
    for feature in hotspots["features"]:
        level = feature["properties"][field]
        classes[level] = classes.get(level, 0) + 1
    labels = category_labels()
    areas = [area_row(feature["properties"], labels, query.suppress_below) for feature in targets["features"]]
    hotspot_args, target_args = query.hotspot_args(), query.target_args()
    return {"query": query, "analysis": hotspots["analysis"], "cells": len(hotspots["features"]), "classes": classes,
            "areas": areas, "target_analysis": targets["analysis"],
            "map": {"hotspots": url_for("analysts.hotspots_download", zone_id=zone.id, extension="geojson",
                                        **hotspot_args),
                    "targets": url_for("analysts.targets_download", zone_id=zone.id, extension="geojson",
                                       **target_args),
                    "zone": url_for("api.zone", zone_id=zone.id)},
            "downloads": download_links(zone, hotspot_args, target_args)}


def area_row(properties, labels, suppress_below):
    lon, lat = properties["centroid"]
    counts = [(labels.get(category, category), count) for category, count in properties["counts"].items()]
    return {"rank": properties["rank"], "share": properties["zone_share"], "records": properties["records"],
            "counts": counts, "streets": properties["streets"], "lon": lon, "lat": lat,
            "cells": properties["cells"], "suppress_below": suppress_below}


def category_labels():
    return {category.id: category.label for layer in get_schema() for category in layer.categories}


def download_links(zone, hotspot_args, target_args):
    """``[(format title, [(crs label, hotspots url, targets url)])]`` for every format and CRS it can carry."""
    links = []
    for output in collection_formats():
        per_crs = []
        for crs in output.crs:
            code = crs.split(":")[1]
            extra = {} if code == "4326" else {"crs": code}
            per_crs.append((crs, url_for("analysts.hotspots_download", zone_id=zone.id, extension=output.extension,
                                         **hotspot_args, **extra),
                            url_for("analysts.targets_download", zone_id=zone.id, extension=output.extension,
                                    **target_args, **extra)))
        links.append((output.title, per_crs))
    return links


def legend(method):
    """``[(class, colour or None, label)]`` for the method's classes, hottest first."""
    if method == "kde":
        return [(level, DENSITY_COLOURS[level], _(density_label(level))) for level in
                range(len(DENSITY_MULTIPLES), -1, -1)]
    return [(level, GI_BIN_COLOURS[level], _(BIN_LABELS[level])) for level in range(3, -4, -1)]


# -- police.uk upload ----------------------------------------------------------------------------------------------

MAX_POLICE_FILE = 20 * 1024 * 1024  # a force-wide month is ~15 MB; a ward's two years are well under 1 MB
MAX_POLICE_FILES = 36  # three years of monthly files at once
MAX_LISTED_REFUSALS = 20


def skip_reasons():
    """The importer's reasons (English constants in :mod:`mapper.importers.police_uk`), in the visitor's language."""
    from mapper.importers import police_uk

    return {police_uk.NO_LOCATION: _("no location"), police_uk.UNKNOWN_TYPE: _("unknown crime type"),
            police_uk.OUTSIDE_FORCE: _("outside the force area"), police_uk.OUTSIDE_ZONE: _("outside the zone"),
            police_uk.ALREADY: _("already imported"), police_uk.REFUSED: _("refused by the validator")}


def police_page(zone, status=200, report=None, error=None):
    return render_template("police_upload.html", zone=zone, report=report, error=error, reasons=skip_reasons(),
                           max_megabytes=MAX_POLICE_FILE // (1024 * 1024), max_files=MAX_POLICE_FILES,
                           max_listed=MAX_LISTED_REFUSALS), status


@bp.route("/zones/<zone_id>/crime/upload", methods=["GET", "POST"])
def police_upload(zone_id):
    """Officers of the zone load police.uk street-level CSVs into its crime layer, with the importer
    ``mapper import-police`` runs: every file is read and every row judged before one append stores them, so a file
    that is refused stores nothing."""
    import tempfile
    from pathlib import Path

    from werkzeug.exceptions import RequestEntityTooLarge
    from werkzeug.utils import secure_filename

    from mapper.errors import MalformedInput
    from mapper.importers.police_uk import import_police
    from mapper.web.auth import protect_session_writes, require_zone

    zone = get_zones().get(zone_id)
    require_zone(zone.id)  # officers and administrators of the zone, before anything is read
    if request.method == "GET":
        return police_page(zone)
    # Exempt from the app-wide CSRF check (which would read the body under the 12 MB app limit first): the larger
    # limit is set here, then the token is checked by the staff blueprints' rule (a session's write carries its
    # token; a bearer-token client sends no cookie to forge, so needs none).
    request.max_content_length = MAX_POLICE_FILES * MAX_POLICE_FILE + 64 * 1024
    too_large = _("Each file may be at most %(size)s MB, and at most %(count)s files at once.",
                  size=MAX_POLICE_FILE // (1024 * 1024), count=MAX_POLICE_FILES)
    try:
        protect_session_writes()
        uploads = [upload for upload in request.files.getlist("files") if upload and upload.filename]
    except RequestEntityTooLarge:
        return police_page(zone, 413, error=too_large)
    if not uploads:
        return police_page(zone, 422, error=_("Choose at least one police.uk street-level CSV file."))
    if len(uploads) > MAX_POLICE_FILES:
        return police_page(zone, 413, error=too_large)
    with tempfile.TemporaryDirectory(prefix="police-upload-") as folder:
        paths, names = [], {}
        for position, upload in enumerate(uploads):
            upload.stream.seek(0, 2)
            size = upload.stream.tell()
            upload.stream.seek(0)
            if size > MAX_POLICE_FILE:
                return police_page(zone, 413, error=_("%(file)s is larger than %(size)s MB; nothing was imported.",
                                                      file=upload.filename, size=MAX_POLICE_FILE // (1024 * 1024)))
            # One folder per file keeps two files of the same name apart; messages name the file, not the folder.
            path = Path(folder, str(position), secure_filename(upload.filename) or "upload.csv")
            path.parent.mkdir()
            upload.save(path)
            paths.append(path)
            names[str(path)] = upload.filename
        try:
            report = import_police(paths, zone.id, schema=get_schema(), zones=get_zones(), store=get_store())
        except MalformedInput as refused:
            message = refused.message
            for path, name in names.items():
                message = message.replace(path, name)
            return police_page(zone, 422, error=_("Nothing was imported: %(message)s", message=message))
        refusals = [(names.get(path, Path(path).name), number, message) for path, number, message in report.refusals]
    report.refusals = refusals
    current_app.logger.info("police.uk upload into %s: %s", zone.id, report.summary())
    return police_page(zone, 200, report=report)


@bp.record_once
def _analysis_resources(state):
    config = state.app.config
    state.app.extensions["analysis_cache"] = ResultCache(config["ANALYSIS_CACHE_ENTRIES"],
                                                         config["ANALYSIS_CACHE_MB"] * 1024 * 1024)
    state.app.extensions["analysis_gate"] = ComputeGate(config["ANALYSIS_CONCURRENCY"],
                                                        config["ANALYSIS_WAIT_SECONDS"])


@bp.record_once
def _exempt_police_upload(state):
    # The upload checks its CSRF token itself, after raising the body limit for it (see police_upload).
    state.app.extensions["csrf"].exempt(police_upload)
