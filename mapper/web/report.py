"""The resident pages: the report form (works without JavaScript), its submission, tracking pages and photos.

A form post becomes the same GeoJSON Feature dict an API client sends, and goes through the same validator
(``mapper.intake``): there is no second set of rules here, only the translation from form fields.
"""

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, jsonify, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from wtforms import FileField, HiddenField, SelectField, StringField, TextAreaField

from mapper import intake
from mapper.analysis.columns import LINK_DISTANCE_M
from mapper.errors import MapperError, PayloadTooLarge, ValidationError
from mapper.photos import MAX_BYTES, gps_of, photo_path
from mapper.validate import validate_client_id
from mapper.web import limits
from mapper.web.api import COLUMNS_NEAR_METRES
from mapper.web.context import get_schema, get_store, get_zones

bp = Blueprint("report", __name__)

KINDS = {"light": "lights", "dark-spot": "lights", "asset": "assets"}
LOCAL_TIME = ZoneInfo("Europe/London")  # what a resident's "when" means in these zones
REF = re.compile(r"^[A-Z]{1,3}-[0-9A-Z]{5}$")


class ReportForm(FlaskForm):
    """Fields and the CSRF token only: the rules live in the one validator, not here."""

    kind = SelectField(choices=list(KINDS), default="light", validate_choice=False)
    category = StringField()
    lat = StringField()
    lon = StringField()
    zone = StringField()
    location_text = StringField()
    column = StringField()
    description = TextAreaField()
    seen_after_dark = StringField()
    seen_at = StringField()
    contact_name = StringField()
    contact_email = StringField()
    contact_phone = StringField()
    photo = FileField()
    client_id = HiddenField()
    name = StringField()
    address = StringField()
    opening_hours = TextAreaField()
    website = StringField()
    phone = StringField()


def wants_json():
    return request.accept_mimetypes.best_match(["application/json", "text/html"]) == "application/json"


@bp.get("/report")
def report_page():
    form = ReportForm(kind=request.args.get("kind", "light"), zone=request.args.get("zone", ""))
    return render_page(form)


def render_page(form, errors=None, status=200):
    schema = get_schema()
    return render_template("report.html", form=form, zones=list(get_zones()), lights_layer=schema.layer("lights"),
                           assets_layer=schema.layer("assets"), errors=errors or {},
                           max_photo_bytes=MAX_BYTES, column_zones=column_zones(),
                           column_radius=COLUMNS_NEAR_METRES, column_link_metres=LINK_DISTANCE_M), status


def column_zones():
    """The zones whose lamp-column inventory has columns in service: only there does the page offer to tap one."""
    from mapper.analysis.columns import IN_SERVICE, LAYER

    if LAYER not in get_schema():
        return []
    store = get_store()
    return [zone for zone in get_zones() if len(store.query(zone.id, LAYER, where={"status": [IN_SERVICE]}))]


@bp.get("/report/token")
def token():
    return jsonify({"csrf_token": generate_csrf()})


@bp.post("/report")
@limits.public_posts
@limits.photos
def submit_report():
    form = ReportForm()
    try:
        stored, created = submit_form(request.form, request.files.get("photo"))
    except MapperError as error:
        if wants_json():
            raise
        return render_page(form, {error.field or "form": error.message}, error.status)
    properties = stored["properties"]
    layer = KINDS.get(request.form.get("kind"), "lights")
    tracking_url = url_for("report.tracking_page", ref=properties["ref"])
    if not wants_json():
        return redirect(tracking_url, code=303)
    body = {"ref": properties["ref"], "id": stored["id"], "zone": properties["zone"], "layer": layer,
            "tracking_url": tracking_url, "feature": stored if properties.get("status") != "pending" else None}
    return jsonify(body), 201 if created else 200


def submit_form(fields, photo_file):
    """Turn the form into a Feature dict and submit it through intake; returns (feature, created)."""
    kind = fields.get("kind", "light")
    if kind not in KINDS:
        raise ValidationError(_("Choose what you are reporting."), field="kind")
    layer = get_schema().layer(KINDS[kind])
    photo = read_photo(photo_file)
    lon, lat, approximate = form_position(fields, photo, layer)
    names = [name for name in layer.properties if name != "category"]
    properties = {name: fields.get(name) for name in names if fields.get(name, "").strip()}
    properties["category"] = "dark-spot" if kind == "dark-spot" else fields.get("category", "")
    if "seen_after_dark" in properties:
        properties["seen_after_dark"] = {"yes": True, "no": False}.get(properties["seen_after_dark"])
    if "seen_at" in properties:
        properties["seen_at"] = local_time(properties["seen_at"])
    if "column" in properties:
        properties["column"] = properties["column"].strip()  # as copied from the plate, spaces and all
    client_id = validate_client_id(fields.get("client_id"))
    raw = {"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]}, "properties": properties}
    zone_id = fields.get("zone") or None if approximate else None
    try:
        return intake.submit_once(raw, layer.name, client_id, schema=get_schema(), zones=get_zones(),
                                  store=get_store(), zone_id=zone_id, photo=photo,
                                  photos_root=current_app.config["DATA_DIR"], approximate=approximate,
                                  admit=limits.charge_zone)
    except ValidationError as error:
        if error.field != "column":
            raise
        raise column_refused(properties["column"]) from error


def column_refused(unit_id):
    """intake's refusal of a named lamp column (unknown, or too far from the pin), in a resident's words."""
    return ValidationError(_("We can't find lamp column %(unit)s within %(metres)d m of your pin. Check the number "
                             "on the plate on the column, move the pin next to it, or leave the number out and we "
                             "will find the nearest column.", unit=unit_id, metres=LINK_DISTANCE_M), field="column")


def read_photo(photo_file):
    if photo_file is None or not photo_file.filename:
        return None
    data = photo_file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise PayloadTooLarge(_("The photo is larger than 10 MB."), field="photo")
    return data or None


def form_position(fields, photo, layer):
    """(lon, lat, approximate): the pin, else the lamp column whose number was typed, else the photo's GPS, else the
    chosen zone for a place in words."""
    lon_text, lat_text = fields.get("lon", "").strip(), fields.get("lat", "").strip()
    if lon_text or lat_text:
        try:
            return float(lon_text), float(lat_text), False
        except ValueError:
            raise ValidationError(_("Latitude and longitude must be numbers, like 52.7700 and -1.1950."),
                                  field="lat") from None
    unit_id = fields.get("column", "").strip()
    if unit_id and "column" in layer.properties:
        return (*column_position(unit_id, fields.get("zone") or None), False)
    if photo is not None and gps_of(photo) is not None:
        lon, lat = gps_of(photo)
        return lon, lat, False
    zone_id = fields.get("zone", "")
    if fields.get("location_text", "").strip() and zone_id:
        lat, lon = get_zones().get(zone_id).centre
        return round(lon, 7), round(lat, 7), True
    raise ValidationError(_("Tell us where: use your location, tap the map, or describe the place and choose the "
                            "area."), field="lat")


def column_position(unit_id, zone_id=None):
    """(lon, lat) of the in-service lamp column ``unit_id`` of the chosen zone, or of any zone: without a map, the
    number on the column's plate says exactly where the fault is."""
    from mapper.analysis.columns import LAYER, column_index

    if LAYER in get_schema():
        for zone in [get_zones().get(zone_id)] if zone_id else get_zones():
            index = column_index(get_store(), zone.id)
            position = index.positions.get(unit_id)
            if position is not None:
                return float(index.lon[position]), float(index.lat[position])
    raise ValidationError(_("We can't find lamp column %(unit)s. Check the number on the plate on the column, or "
                            "tell us where it is: use your location, tap the map, or describe the place and choose "
                            "the area.", unit=unit_id), field="column")


@bp.app_template_filter("uk_time")
def uk_time(text, with_time=True):
    """A stored UTC timestamp as UK wall-clock time for people (``26 Nov 2026, 21:30``)."""
    if not text:
        return ""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(LOCAL_TIME)
    except ValueError:
        return text
    return moment.strftime("%-d %b %Y, %H:%M" if with_time else "%-d %b %Y")


def local_time(text):
    """A datetime-local value (UK wall-clock time) as UTC ISO-8601; other ISO strings pass through."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text  # the validator names the field and the value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=LOCAL_TIME)
    return moment.isoformat()


# -- tracking ------------------------------------------------------------------------------------------------------


def find_report(ref):
    """(zone, layer, feature) for a public reference, or 404."""
    if not REF.match(ref):
        abort(404)
    prefix = ref.split("-")[0]
    for zone in get_zones():
        if zone.ref_prefix != prefix:
            continue
        for layer in get_schema():
            if layer.staff_only:  # a crime record imported with a reference is still not for a public page
                continue
            feature = get_store().find(zone.id, layer.name, "ref", ref)
            if feature is not None:
                return zone, layer, feature
    abort(404)


def public_report(zone, layer, feature):
    """What anyone holding the reference may see: never private fields, never an unmoderated asset's text."""
    properties = feature["properties"]
    status = properties.get("status")
    hidden = status not in layer.public_statuses
    category = layer.category(properties.get("category"))
    lon, lat = feature["geometry"]["coordinates"][:2]
    photo = properties.get("photo")
    return {
        "ref": properties.get("ref"), "layer": layer.name, "zone": zone.id, "zone_name": zone.name,
        "category": properties.get("category"), "category_label": category.label if category else None,
        "status": status, "status_label": layer.status_label(status),
        "open": status in layer.open_statuses, "created": properties.get("created"),
        "updated": properties.get("updated"), "confirmations": properties.get("confirmations", 0),
        "lon": None if hidden else lon, "lat": None if hidden else lat,
        "location_approximate": bool(properties.get("location_approximate")),
        "name": None if hidden else properties.get("name"),
        "description": None if hidden else properties.get("description"),
        "location_text": None if hidden else properties.get("location_text"),
        "photo": None if hidden or not photo else url_for("report.photo", zone_id=zone.id, name=photo),
        "photo_thumbnail": None if hidden or not photo else url_for(
            "report.photo", zone_id=zone.id, name=photo.replace(".jpg", "-thumb.jpg")),
        "history": [{"at": h.get("at"), "status": h.get("to"), "status_label": layer.status_label(h.get("to")),
                     "note": h.get("public_note")} for h in properties.get("history", [])],
        "priority": properties.get("priority"),
        "duplicate_of": properties.get("duplicate_of"),
        "reopen_until": reopen_until(layer, properties),
    }


def reopen_until(layer, properties):
    """The last moment (ISO-8601 UTC) a resident may reopen this fixed report, or None."""
    from mapper import lifecycle
    from mapper.validate import format_datetime

    deadline = lifecycle.reopen_deadline(properties, lifecycle.lifecycle_for(current_app.config["LAYERS_FILE"], layer))
    return format_datetime(deadline) if deadline is not None and deadline > datetime.now(deadline.tzinfo) else None


@bp.get("/r/<ref>")
def tracking_page(ref):
    if ref.endswith(".json"):
        return tracking_json(ref[:-5])
    zone, layer, feature = find_report(ref)
    return render_template("track.html", report=public_report(zone, layer, feature))


@bp.post("/r/<ref>/reopen")
@limits.public_posts
def reopen_report(ref):
    """A resident says a fixed fault is back (within the layer's reopen_days): the report is open again."""
    from mapper import lifecycle

    zone, layer, feature = find_report(ref)
    stages = lifecycle.lifecycle_for(current_app.config["LAYERS_FILE"], layer)
    try:
        lifecycle.reopen(get_store(), layer, stages, zone.id, feature["properties"]["id"], request.form.get("reason"))
    except MapperError as error:
        if wants_json():
            raise
        report = public_report(zone, layer, get_store().get(zone.id, layer.name, feature["properties"]["id"]))
        return render_template("track.html", report=report, reopen_error=error.message), error.status
    return redirect(url_for("report.tracking_page", ref=ref), code=303)


def tracking_json(ref):
    return jsonify(public_report(*find_report(ref)))


@bp.get("/photos/<zone_id>/<name>")
def photo(zone_id, name):
    zone = get_zones().get(zone_id)
    path = photo_path(current_app.config["DATA_DIR"], zone.id, name)
    if path is None or not path.is_file():
        abort(404)
    response = send_file(path, mimetype="image/jpeg", max_age=86400)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def csrf_failed(error):
    """An expired or missing form token: JSON for the page's script, a page for a person."""
    message = _("This form has expired. Please reload the page and send it again; nothing was lost on your phone.")
    if wants_json() or request.path.startswith("/api/"):
        return jsonify({"error": {"code": "csrf", "message": message, "field": "csrf_token"}}), 400
    return render_template("error.html", error=MapperError(message, status=400)), 400

