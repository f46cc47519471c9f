"""Community assets and welfare facilities from other people's files -> a zone's ``assets`` layer, through the one
validator.

Sources come as GeoJSON (council exports, OpenStreetMap-style tagged points) or as council CSVs with every quirk a
spreadsheet can have; reading them (encodings, separators, where a row's point is) is :mod:`mapper.importers.sheets`.
This module owns what the rows become. How a source's columns or tags become our categories, properties and welfare
attributes (toilets, water, shelter) is not code: it is the mapping table ``data/asset_sources.toml`` (one *profile*
per kind of source, detected from the header or the tags); the values are cleaned here (whitespace, postcodes,
websites, phone numbers).

Only rows inside the zone are kept; the others are counted by reason. Imported assets are published at once (an
administrator's import) and keyed by ``source_key`` (an OSM id, the register's id, else a hash of the row), so that
importing a file again adds nothing. Decisions (what is cleaned, dropped or refused) are in docs/assets-import.md.
"""

import hashlib
import math
import re
import tomllib
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import orjson
import shapely

from mapper.config import SHIPPED_DATA_DIR
from mapper.errors import MalformedInput, ValidationError
from mapper.importers.sheets import SourceFile, read_source
from mapper.validate import PHONE, URL, quote

LAYER = "assets"
PUBLISHED = "published"
SOURCES_FILE = SHIPPED_DATA_DIR / "asset_sources.toml"
ATTRIBUTES = ("welfare", "toilets", "water", "shelter")
YES, NO = {"y", "yes", "true", "1", "1.0"}, {"n", "no", "false", "0", "0.0"}
POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9][A-Z]{2})$", re.IGNORECASE)
PHONE_NUMBER = re.compile(r"\+?\(?\d[\d ()\-.]{4,}\d")
EXTENSION = re.compile(r"\b(ext|extn)\b", re.IGNORECASE)
SEVERAL = re.compile(r"\n|/|,|;|\bor\b|\band\b", re.IGNORECASE)  # between two phone numbers in one cell
BARE_DOMAIN = re.compile(r"^(www\.)?[a-z0-9-]+(\.[a-z0-9-]+)+(/\S*)?$", re.IGNORECASE)
OSM_ID = re.compile(r"^(node|way|relation)/\d+$")

# Why a row was not imported, in the order they are checked (and reported).
NO_LOCATION = "no location"
OUTSIDE_ZONE = "outside the zone"
NOT_MAPPED = "no mapping for its tags"
EXCLUDED = "excluded by the mapping table"
DUPLICATE = "repeats an earlier row of the file"
ALREADY = "already imported"
REFUSED = "refused"
REASONS = (NO_LOCATION, OUTSIDE_ZONE, NOT_MAPPED, EXCLUDED, DUPLICATE, ALREADY, REFUSED)


# -- the mapping table -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    """How one kind of source becomes assets (a ``[profiles.NAME]`` table of data/asset_sources.toml)."""

    name: str
    title: str
    source: str = ""
    kind: str = "columns"  # or "tags" (OSM-style)
    detect: tuple = ()
    detect_any: tuple = ()
    category: str | None = None
    category_columns: tuple = ()
    attributes: dict = field(default_factory=dict)
    key: str | None = None
    key_columns: tuple = ()
    not_imported: tuple = ()
    fields: dict = field(default_factory=dict)
    attribute_tags: dict = field(default_factory=dict)
    rules: tuple = ()


@dataclass(frozen=True)
class Sources:
    profiles: dict
    missing_values: frozenset
    coordinates: dict
    category_words: dict  # normalised word -> category id

    def profile(self, name):
        if name not in self.profiles:
            raise MalformedInput(f"No source profile {name!r}; profiles are: {', '.join(self.profiles)} "
                                 "(data/asset_sources.toml).")
        return self.profiles[name]


def load_sources(path=SOURCES_FILE):
    """Read the mapping table. A broken table is the deployment's fault, so it fails loudly with the file name."""
    try:
        document = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise MalformedInput(f"{path}: cannot read the asset mapping table: {error}") from None
    profiles = {}
    for name, table in document.get("profiles", {}).items():
        table = dict(table)
        profiles[name] = Profile(
            name=name, title=table.pop("title", name), source=table.pop("source", ""),
            kind=table.pop("kind", "columns"), detect=tuple(table.pop("detect", ())),
            detect_any=tuple(table.pop("detect_any", ())), category=table.pop("category", None),
            category_columns=tuple(table.pop("category_columns", ())), attributes=table.pop("attributes", {}),
            key=table.pop("key", None), key_columns=tuple(table.pop("key_columns", ())),
            not_imported=tuple(table.pop("not_imported", ())), fields=table.pop("fields", {}),
            attribute_tags=table.pop("attribute_tags", {}), rules=tuple(table.pop("rules", ())))
        if table:
            raise MalformedInput(f"{path}: profile {name!r} has unknown keys: {', '.join(sorted(table))}.")
    words = {}
    for category, synonyms in document.get("category_words", {}).items():
        words.update({normalise_word(word): category for word in synonyms})
    return Sources(profiles, frozenset(v.lower() for v in document.get("missing_values", ())),
                   {kind: [n.lower() for n in names] for kind, names in document.get("coordinates", {}).items()},
                   words)


def normalise_word(text):
    return " ".join(str(text).lower().replace("_", " ").replace("-", " ").split())


# -- cleaning text ---------------------------------------------------------------------------------------------------


def as_text(value):
    """A cell or property as text: numbers as written (``15.0`` -> ``15``), booleans as yes/no, the rest None."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return None if not math.isfinite(value) else str(int(value)) if value.is_integer() else repr(value)
    return value if isinstance(value, str) else None


def _printable(text):
    """NFC text without control or format characters (line breaks and tabs kept for the caller to decide)."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    return "".join(c for c in text if c in "\n\t" or unicodedata.category(c) not in ("Cc", "Cf", "Zl", "Zp"))


def clean_line(value, missing=frozenset()):
    """One-line text: trimmed, every run of whitespace (line breaks, non-breaking spaces) one space; None when
    empty or a "nothing here" marker such as NA."""
    text = as_text(value)
    if text is None:
        return None
    text = " ".join(_printable(text).split())
    return None if not text or text.lower() in missing else text


def clean_block(value, missing=frozenset()):
    """Multi-line text: each line trimmed with its spaces collapsed, line breaks kept, blank runs one blank line."""
    text = as_text(value)
    if text is None:
        return None
    lines = [" ".join(line.split()) for line in _printable(text).split("\n")]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return None if not text or text.lower() in missing else text


def postcode(text):
    """A UK postcode with its space (``S63BS`` -> ``S6 3BS``); other text unchanged."""
    match = POSTCODE.match(text)
    return f"{match.group(1)} {match.group(2)}".upper() if match else text


def shorten(text, limit):
    """``text`` cut at a word boundary to at most ``limit`` characters, ending with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    space = max(cut.rfind(" "), cut.rfind("\n"))
    return (cut[:space] if space > limit // 2 else cut).rstrip(" ,;:.\n") + "…"


def website(text):
    """``(url or None, [(listed, note)])``: a bare domain gets ``http://`` (the site redirects if it serves https);
    anything else that is not one web address (two in one cell, an email address) is left out and listed.

    >>> website("www.bankhousesurgery.co.uk")[0], website("http://www.thedovecotsurgery@nhs.uk")[0]
    ('http://www.bankhousesurgery.co.uk', None)
    """
    text = text.rstrip(".")
    if "@" in urlsplit(text if "//" in text else "//" + text).netloc:  # an email address typed as a website
        return None, [(True, f"website {quote(text)} is an email address, not a web address; left out")]
    if URL.match(text):
        return text, []
    if BARE_DOMAIN.match(text):
        return "http://" + text, [(False, "websites given http://")]
    return None, [(True, f"website {quote(text)} is not a web address; left out")]


def phone(text):
    """``(phone or None, [(listed, note)])``: the first phone number in the text, without an extension the schema
    cannot hold. A contact cell may hold an email address too: it is not imported (no public field for it).

    >>> phone("0161 761 5908 or 07724113035")[0], phone("01482335533 (ext. 1)")
    ('0161 761 5908', ('01482335533', [(False, 'phone extensions left out')]))
    """
    notes = [(False, "email addresses in a contact column left out")] if "@" in text else []
    numbers = [number.strip() for part in SEVERAL.split(text) for number in PHONE_NUMBER.findall(part)]
    numbers = [n for n in numbers if PHONE.match(n) and 6 <= sum(c.isdigit() for c in n) <= 13]
    if numbers:
        if EXTENSION.search(text):
            notes.append((False, "phone extensions left out"))
        elif len(numbers) > 1:
            notes.append((False, "cells with several phone numbers: the first kept"))
        return numbers[0], notes
    if notes:
        return None, notes
    return None, [(True, f"phone {quote(text)} is not a phone number; left out")]


# -- mapping rows to assets ------------------------------------------------------------------------------------------


@dataclass
class Mapped:
    """What one row became: a raw Feature and its key, or a reason it was skipped, or a refusal."""

    feature: dict | None = None
    key: str | None = None
    skip: str | None = None  # one of REASONS
    detail: str | None = None  # what was not mapped or excluded ("amenity=pub")
    refusal: str | None = None
    notes: list = field(default_factory=list)  # (listed per row?, what was tidied or left out)


def choose_profile(source_file, sources, wanted=None):
    """``(profile, detected)``: ``wanted`` if given, else the first column profile whose ``detect`` columns are all
    in the header, else a tags profile whose ``detect_any`` tags some feature carries, else ``generic``."""
    if wanted:
        return sources.profile(wanted), False
    header = {name.lower() for name in source_file.columns if isinstance(name, str)}
    for profile in sources.profiles.values():
        if profile.detect and all(name.lower() in header for name in profile.detect):
            return profile, True
    for profile in sources.profiles.values():
        if profile.kind == "tags" and any(tag.lower() in header for tag in profile.detect_any):
            return profile, True
    return sources.profile("generic"), True


class RowMapper:
    """Maps the rows of one source file to raw asset Features by one profile (see data/asset_sources.toml)."""

    OTHER_TAGS = ("highway", "shop", "tourism", "building", "emergency", "public_transport")

    def __init__(self, profile, sources, layer, source_file, category=None, welfare=False):
        self.profile, self.layer, self.category, self.welfare = profile, layer, category, welfare
        self.missing = sources.missing_values
        self.words = sources.category_words
        self.stem = source_file.path.stem
        columns = {name.lower(): name for name in source_file.columns if isinstance(name, str)}
        label = source_file.path.name
        self.source = shorten(f"{profile.source}; {label}" if profile.source else label,
                              layer.properties["source"].max_length)
        self.key_column = next((columns[c.lower()] for c in ((profile.key,) if profile.key else profile.key_columns)
                                if c and c.lower() in columns), None)
        self.category_column = next((columns[c.lower()] for c in profile.category_columns if c.lower() in columns),
                                    None)
        self.not_imported = [columns[c.lower()] for c in profile.not_imported if c.lower() in columns]

    def map(self, row):
        values = {k.lower(): v for k, v in row.values.items() if isinstance(k, str)}
        mapped, rule = Mapped(), None
        if self.profile.kind == "tags":
            rule = self.rule_for(values)
            if rule is None and self.category is None:
                return Mapped(skip=NOT_MAPPED, detail=self.main_tag(values))
            if rule is not None and "skip" in rule and self.category is None:
                return Mapped(skip=EXCLUDED, detail=rule["skip"])
        properties = self.properties(values, mapped, rule or {})
        if mapped.refusal is None and "name" not in properties:
            mapped.refusal = (f"no name (column {'/'.join(self.fields('name'))} is empty); the name is required "
                              "on the map")
        if mapped.refusal is None and "category" not in properties:
            mapped.refusal = self.category_refusal(values)
        mapped.key = self.key(row, values)
        properties["source_key"] = mapped.key
        mapped.feature = {"type": "Feature", "geometry": row.geometry, "properties": properties}
        return mapped

    def fields(self, name):
        return [column.lower() for column in self.profile.fields.get(name, ()) if isinstance(column, str)]

    def first(self, values, name, clean=None):
        clean = clean or clean_line
        for column in self.fields(name):
            text = clean(values.get(column), self.missing)
            if text is not None:
                return text
        return None

    def properties(self, values, mapped, rule):
        limits = {name: prop.max_length for name, prop in self.layer.properties.items()}
        properties = {"name": self.first(values, "name") or rule.get("name"),
                      "address": self.address(values), "opening_hours": self.first(values, "opening_hours",
                                                                                   clean_block),
                      "location_text": self.first(values, "location_text")}
        for name, tidy, clean in (("website", website, clean_line), ("phone", phone, clean_block)):
            text = self.first(values, name, clean)  # a phone cell keeps its line breaks: one number a line
            if text is not None:
                properties[name], notes = tidy(text)
                mapped.notes += notes
        description = self.description(values)
        if description and len(description) > limits["description"]:
            description = shorten(description, limits["description"])
            mapped.notes.append((False, f"descriptions shortened to {limits['description']:,} characters"))
        properties["description"] = description
        properties["category"] = self.category or rule.get("category") or self.profile.category or \
            self.category_from_column(values)
        attributes = {**self.profile.attributes, **rule.get("attributes", {})}
        for attribute, tag in self.profile.attribute_tags.items():
            if (clean_line(values.get(tag.lower())) or "").lower() in YES:
                attributes[attribute] = True
        if self.welfare:
            attributes["welfare"] = True
        properties.update({name: bool(value) for name, value in attributes.items() if name in ATTRIBUTES})
        properties["source"] = self.source
        return {name: value for name, value in properties.items() if value is not None}

    def address(self, values):
        """The address columns joined with ", ", each without trailing commas, postcodes spaced, and a part left
        out when the text so far already has it (Bristol's addresses end with their postcode)."""
        parts, seen = [], ""
        for entry in self.profile.fields.get("address", ()):
            columns = [entry] if isinstance(entry, str) else entry
            words = [clean_line(values.get(column.lower()), self.missing) for column in columns]
            text = " ".join(word for word in words if word) or None
            if text is None:
                continue
            text = postcode(text.strip(" ,;"))
            squashed = re.sub(r"[\s,]", "", text.lower())
            if squashed and squashed not in seen:
                parts.append(text)
                seen += re.sub(r"[\s,]", "", text.lower()) + "|"
        return ", ".join(parts) or None

    def description(self, values):
        lines = []
        for entry in self.profile.fields.get("description", ()):
            label, column, *how = entry
            text = clean_block(values.get(column.lower()), self.missing)
            if text is None:
                continue
            if how and how[0] == "yes-no" and text.lower() in YES | NO:
                text = "yes" if text.lower() in YES else "no"
            lines.append(f"{label}:{chr(10) if chr(10) in text else ' '}{text}" if label else text)
        return "\n".join(lines) or None

    def category_from_column(self, values):
        if self.category_column is None:
            return None
        text = clean_line(values.get(self.category_column.lower()), self.missing)
        if text is None:
            return None
        for part in [text] + re.split(r"[/,;|]", text):
            word = normalise_word(part)
            for category in self.layer.categories:
                if word in (category.id, normalise_word(category.id), normalise_word(category.label)):
                    return category.id
            if word in self.words:
                return self.words[word]
        return None

    def category_refusal(self, values):
        known = ", ".join(self.layer.category_ids)
        if self.category_column is None:
            return f"no category: the file has no category column; give --category (one of {known})"
        text = clean_line(values.get(self.category_column.lower()), self.missing)
        if text is None:
            return f"no category: the {self.category_column!r} cell is empty; give --category (one of {known})"
        return (f"no category: {self.category_column} {quote(text)} is not one we know (data/asset_sources.toml "
                f"[category_words]); give --category (one of {known})")

    def rule_for(self, tags):
        for rule in self.profile.rules:
            if all(self.tag_matches(tags.get(tag.lower()), wanted) for tag, wanted in rule["match"].items()):
                return rule
        return None

    @staticmethod
    def tag_matches(value, wanted):
        text = clean_line(value)
        return text is not None and text.lower() in {w.lower() for w in (wanted if isinstance(wanted, list)
                                                                          else [wanted])}

    def main_tag(self, tags):
        for tag in tuple(self.profile.detect_any) + self.OTHER_TAGS:
            text = clean_line(tags.get(tag.lower()))
            if text is not None:
                return f"{tag}={text}"
        return "no amenity or other main tag"

    def key(self, row, values):
        """The row's ``source_key``: an OSM id, the register's own id, else a hash of the row's cleaned cells."""
        limit = self.layer.properties["source_key"].max_length
        if self.profile.kind == "tags":
            if row.feature_id and OSM_ID.match(row.feature_id):
                return f"osm:{row.feature_id}"
            osm_id = clean_line(values.get((self.profile.key or "osm_id").lower()))
            if osm_id:
                return f"osm:{osm_id}"[:limit]
        elif self.key_column is not None:
            value = clean_line(values.get(self.key_column.lower()), self.missing)
            prefix = self.profile.name if self.profile.detect else self.stem
            if value is not None and len(prefix) + len(value) < limit:
                return f"{prefix}:{value}"
        cells = sorted((name, (clean_line(value) or "").lower()) for name, value in values.items())
        coordinates = (row.geometry or {}).get("coordinates")
        digest = hashlib.sha256(orjson.dumps([cells, coordinates], default=str)).hexdigest()[:24]
        prefix = self.profile.name if self.profile.detect or self.profile.kind == "tags" else self.stem
        return f"{prefix[:100]}:sha256:{digest}"


# -- the import ------------------------------------------------------------------------------------------------------


@dataclass
class AssetImport:
    """What an import did, for a person: rows read, assets added per category, rows skipped by reason, refusals
    with their row (and line) numbers, values tidied or left out."""

    zone: str
    path: Path
    profile: Profile
    detected: bool
    source_file: SourceFile
    rows: int = 0
    added: int = 0
    stored: bool = False
    dry_run: bool = False
    skip_invalid: bool = False
    skipped: Counter = field(default_factory=Counter)
    excluded: Counter = field(default_factory=Counter)  # (reason, detail such as "amenity=pub") -> rows
    refusals: list = field(default_factory=list)  # (row label, message)
    fixes: Counter = field(default_factory=Counter)  # tidied values, by kind
    dropped: list = field(default_factory=list)  # (row label, message): values left out of an imported row
    not_imported: list = field(default_factory=list)  # columns never imported (organisation emails...)
    accepted: list = field(default_factory=list)  # validated submissions

    @property
    def would_store(self):
        """Whether the accepted rows are (or, in a dry run, would be) stored: not when a refusal stops the import."""
        return bool(self.accepted) and (not self.refusals or self.skip_invalid)

    @property
    def categories(self):
        return Counter(s.properties["category"] for s in self.accepted)

    @property
    def welfare(self):
        """How many accepted assets offer each welfare attribute."""
        return Counter(name for s in self.accepted for name in ATTRIBUTES if s.properties.get(name))

    def notes(self):
        """Lines on how the file was read: profile, encoding, delimiter, coordinates, what was left out."""
        source = self.source_file
        how = "detected from the header" if self.detected else "as asked"
        lines = [f"Read as {self.profile.title} (profile {self.profile.name!r}, {how})."]
        if source.kind == "csv":
            encoding = {"utf-8-sig": "UTF-8", "cp1252": "Windows-1252", "latin-1": "Latin-1",
                        "utf-16": "UTF-16"}[source.encoding]
            lines.append(f"CSV: {encoding}, separated by {source.delimiter!r}; points from {source.coordinates}.")
        for column in self.not_imported:
            why = "organisation email addresses have no public field" if "mail" in column.lower() else \
                "not for a public map (see docs/assets-import.md)"
            lines.append(f"The column {column!r} is not imported: {why}.")
        lines += [f"{fix[0].upper()}{fix[1:]}: {count:,}." for fix, count in sorted(self.fixes.items())]
        for reason in (NOT_MAPPED, EXCLUDED):
            details = [(detail, count) for (why, detail), count in self.excluded.most_common() if why == reason]
            if details:
                heading = "No mapping (data/asset_sources.toml)" if reason == NOT_MAPPED else "Excluded"
                lines.append(f"{heading}: " + ", ".join(f"{detail} {count:,}" for detail, count in details) + ".")
        return lines

    def summary(self):
        verb = "Would import" if self.dry_run else "Imported"
        count = (len(self.accepted) if self.would_store else 0) if self.dry_run else self.added
        kinds = ", ".join(f"{category} {n:,}" for category, n in sorted(self.categories.items()))
        welfare = ", ".join(f"{name} {n:,}" for name, n in self.welfare.items())
        parts = [f"{reason} {self.skipped[reason]:,}" for reason in REASONS if self.skipped[reason]]
        return (f"{verb} {count:,} of {self.rows:,} rows into {self.zone}/{LAYER}"
                + (f" ({kinds})" if kinds and count else "")
                + (f"; welfare: {welfare}" if welfare and count else "")
                + (f"; skipped {sum(self.skipped.values()):,}: " + ", ".join(parts) if parts else "") + ".")


def import_assets(path, zone_id, *, schema, zones, store, sources=None, profile=None, category=None, welfare=False,
                  skip_invalid=False, dry_run=False):
    """Import an asset file into a zone's assets layer; return an :class:`AssetImport`.

    Every row is read, mapped and judged (``intake.judge_many``) before anything is written. Rows the validator or
    the mapping refuses are listed with their row numbers; then nothing is stored unless ``skip_invalid``. A file
    that cannot be read at all raises :class:`MalformedInput`; an unknown ``category`` or ``profile`` too.
    """
    from mapper.intake import judge_many

    zone = zones.get(zone_id)
    layer = schema.layer(LAYER)
    sources = sources or load_sources()
    if category is not None and layer.category(category) is None:
        raise ValidationError(f"Unknown category {quote(category)}; categories are: {', '.join(layer.category_ids)}.",
                              field="category")
    source_file = read_source(path, sources.coordinates)
    if not source_file.rows:
        raise MalformedInput(f"{path} has no rows to import.")
    chosen, detected = choose_profile(source_file, sources, profile)
    mapper = RowMapper(chosen, sources, layer, source_file, category=category, welfare=welfare)
    report = AssetImport(zone.id, Path(path), chosen, detected, source_file, rows=len(source_file.rows),
                         dry_run=dry_run, skip_invalid=skip_invalid, not_imported=mapper.not_imported)
    inside = inside_zone(source_file.rows, zone)
    # key -> True when stored (whatever its status: a rejected asset is not brought back by importing its file
    # again), False when an earlier row of this file has it
    known, candidates = dict.fromkeys(store.values(zone.id, LAYER, "source_key"), True), []
    for row, is_inside in zip(source_file.rows, inside):
        if row.problem is not None:
            report.refusals.append((row.label, row.problem))
        elif row.geometry is None:
            report.skipped[NO_LOCATION] += 1
        elif is_inside is False:
            report.skipped[OUTSIDE_ZONE] += 1
        else:
            mapped = mapper.map(row)
            if mapped.skip is not None:
                report.skipped[mapped.skip] += 1
                report.excluded[mapped.skip, mapped.detail] += 1
            elif mapped.refusal is not None:
                report.refusals.append((row.label, mapped.refusal))
            elif mapped.key in known:
                report.skipped[ALREADY if known[mapped.key] else DUPLICATE] += 1
            else:
                known[mapped.key] = False  # a later row with this key repeats this one
                candidates.append((row, mapped))
    accepted, refused = judge_many((mapped.feature for _, mapped in candidates), LAYER, zone.id, schema=schema,
                                   zones=zones, status=PUBLISHED)
    refused_positions = {position for position, _ in refused}
    report.refusals += [(candidates[position][0].label, error.message) for position, error in refused]
    report.refusals.sort(key=lambda refusal: int(refusal[0].split()[1]))
    if report.refusals:
        report.skipped[REFUSED] = len(report.refusals)
    report.accepted = accepted
    for position, (row, mapped) in enumerate(candidates):
        if position not in refused_positions:
            for listed, message in mapped.notes:
                if listed:
                    report.dropped.append((row.label, message))
                else:
                    report.fixes[message] += 1
    if dry_run or not report.would_store:
        return report
    stored = store.append(zone.id, LAYER, accepted, ref_prefix=zone.ref_prefix, unique="source_key")
    report.added, report.stored = len(stored), True
    if len(stored) < len(accepted):  # another import stored them first
        report.skipped[ALREADY] += len(accepted) - len(stored)
    return report


def inside_zone(rows, zone):
    """Per row: True or False for a point of finite in-range lon/lat, None when there is none to test (no point, or
    one the validator will refuse with its own message)."""
    lon, lat = np.full(len(rows), np.nan), np.full(len(rows), np.nan)
    for index, row in enumerate(rows):
        coordinates = (row.geometry or {}).get("coordinates") if isinstance(row.geometry, dict) else None
        if isinstance(coordinates, list) and len(coordinates) in (2, 3) and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) for v in coordinates[:2]):
            x, y = float(coordinates[0]), float(coordinates[1])
            if math.isfinite(x) and math.isfinite(y) and -180 <= x <= 180 and -90 <= y <= 90:
                lon[index], lat[index] = x, y
    testable = np.isfinite(lon)
    inside = shapely.intersects_xy(zone.boundary, np.nan_to_num(lon), np.nan_to_num(lat))
    return [bool(flag) if ok else None for flag, ok in zip(inside, testable)]
