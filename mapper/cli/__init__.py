"""The ``mapper`` command line: the ``main`` group and what its commands share.

The commands live by area in the modules of this package, imported at the bottom so that they register on ``main``:
``service`` (serve, check, demo), ``imports`` (import, import-columns, import-assets, import-streets, import-police,
import-gpx), ``analysis`` (hotspots, targets, evaluate, catchments, export-gpx), ``moderate``, ``zones`` and ``users``.

Thin over the functions the web uses: every feature goes through ``mapper.intake.judge_many`` (so through the one
validator), zones through ``mapper.zones``, files through ``mapper.importers`` and status changes through
``mapper.moderation``. A bad input file, an unknown zone, layer or feature, or a refused zone boundary or status
change is one line on stderr and exit code 2; refused rows are exit code 1.
"""

from pathlib import Path

import click

from mapper import __version__
from mapper.errors import MapperError

MAX_LISTED = 20  # refused rows listed before "and N more"
DATA_HELP = "Data directory (default: $MAPPER_DATA_DIR, else ./geojson)."


class Refused(click.ClickException):
    """Bad input the user can fix: a one-line "Error: ..." and exit code 2, like a usage error."""

    exit_code = 2


class MapperGroup(click.Group):
    """Turns every MapperError or unreadable file below it into :class:`Refused`, never a traceback."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except MapperError as error:
            raise Refused(error.message) from None
        except OSError as error:
            raise Refused(f"{error.filename or 'file'}: {error.strerror or error}") from None


def plural(count, word):
    return f"{count} {word}{'' if count == 1 else 's'}"


def data_option(command):
    return click.option("--data", type=click.Path(file_okay=False, path_type=Path), help=DATA_HELP)(command)


def open_resources(data):
    """Schema, zone registry and store for a data directory, exactly as the web app builds them."""
    from mapper.config import load
    from mapper.web.context import Resources

    return Resources(load({"DATA_DIR": data} if data else None))


def terminal_safe(value, limit=None):
    r"""Text from a contribution made safe to print: control and format characters (escape sequences, bidi
    overrides) removed, line breaks and tabs turned to spaces, shortened to ``limit`` characters.

    >>> terminal_safe("Pantry\x1b[2J\u202e\nopen  daily")
    'Pantry[2J open daily'
    >>> terminal_safe("Open every day", limit=8)
    'Open ev…'
    """
    import unicodedata

    if value is None:
        return ""
    kept = []
    for character in str(value):
        kind = unicodedata.category(character)
        if character in "\t\n\r" or kind in ("Zl", "Zp"):
            kept.append(" ")
        elif kind not in ("Cc", "Cf"):
            kept.append(character)
    text = " ".join("".join(kept).split())
    return text if limit is None or len(text) <= limit else text[:limit - 1] + "…"


def judge(rows, layer, zone_id, resources, label=None, status=None):
    """Validate ``(number, feature)`` rows with intake.judge_many; return (accepted submissions, refusals).

    A ``label`` shows a progress bar on stderr. Imports are an administrator's, so they are stored with the layer's
    first open status (assets are published at once) unless ``status`` says otherwise.
    """
    from mapper.intake import judge_many

    schema_layer = resources.schema.layer(layer)
    status = status or (schema_layer.open_statuses or (schema_layer.initial_status,))[0]

    def run(features):
        return judge_many(features, layer, zone_id, schema=resources.schema, zones=resources.zones(), status=status)

    if label is None:
        accepted, refused = run(feature for _, feature in rows)
    else:
        with click.progressbar(rows, label=label, file=click.get_text_stream("stderr")) as bar:
            accepted, refused = run(feature for _, feature in bar)
    return accepted, [(rows[position][0], error.message) for position, error in refused]


@click.group(cls=MapperGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="mapper")
def main():
    """Street-lighting faults and community assets for Leicestershire's People Zones."""


# The commands, by area: importing them registers them on ``main``.
from mapper.cli import analysis, imports, moderate, service, users, zones  # noqa: E402, F401
