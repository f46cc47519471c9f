"""Report photos: checked, resized and stripped of every piece of metadata before anything is kept.

The original upload is never written to disk. What is kept are two re-encoded JPEGs (a display copy and a thumbnail)
made from the pixels alone, so no EXIF, GPS, XMP, ICC comment or maker note from the phone can be served. Photos live
under ``<data dir>/_photos/<zone>/`` (``_photos`` is not a valid zone id, so it cannot clash with a zone).
"""

import io
import secrets
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from mapper.durable import atomic_write, ensure_directory
from mapper.errors import PayloadTooLarge, ValidationError

MAX_BYTES = 10 * 1024 * 1024
MAX_PIXELS = 60_000_000  # about 8,000 x 7,500: more than any phone camera; a decompression bomb is refused
FORMATS = {"JPEG", "PNG", "WEBP"}
SIZES = {"": 1600, "-thumb": 320}  # file suffix -> longest side in pixels
PHOTO_DIR = "_photos"


def photo_path(root, zone, name):
    """The file for a stored photo name (``<random>.jpg`` or ``<random>-thumb.jpg``), refusing anything else."""
    stem = name[:-4] if name.endswith(".jpg") else ""
    base = stem[:-6] if stem.endswith("-thumb") else stem
    if not (len(base) == 32 and all(c in "0123456789abcdef" for c in base)):
        return None
    return Path(root) / PHOTO_DIR / zone / name


def save_photo(root, zone, data):
    """Check an uploaded image and keep clean resized copies; return the stored name (``<hex>.jpg``)."""
    if len(data) > MAX_BYTES:
        raise PayloadTooLarge(f"The photo is {len(data) / 1e6:.1f} MB; the limit is {MAX_BYTES // (1024 * 1024)} MB.",
                              field="photo")
    image = open_image(data)
    name = secrets.token_hex(16)
    directory = Path(root) / PHOTO_DIR / zone
    ensure_directory(directory)
    for suffix, longest in SIZES.items():
        atomic_write(directory / f"{name}{suffix}.jpg", clean_jpeg(image, longest))
    return f"{name}.jpg"


def open_image(data):
    """The decoded image, upright, or a ValidationError a resident can act on."""
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    try:
        with Image.open(io.BytesIO(data)) as probe:
            kind = probe.format
            probe.verify()
        if kind not in FORMATS:
            raise ValidationError(f"The photo must be JPEG, PNG or WebP, not {kind}.", field="photo")
        image = Image.open(io.BytesIO(data))
        image.load()
        return ImageOps.exif_transpose(image)  # keep the picture the right way up once EXIF is gone
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError):
        raise ValidationError("The photo could not be read as a JPEG, PNG or WebP image.", field="photo") from None


def clean_jpeg(image, longest):
    """Pixels only, re-encoded: no metadata survives."""
    copy = image.convert("RGB")
    copy.thumbnail((longest, longest))
    out = io.BytesIO()
    copy.save(out, "JPEG", quality=82, optimize=True, progressive=True)
    return out.getvalue()


def gps_of(data):
    """(lon, lat) from an image's EXIF GPS tags, or None. Read before the metadata is thrown away."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            gps = image.getexif().get_ifd(0x8825)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    try:
        lat = _degrees(gps[2]) * (-1 if gps.get(1) == "S" else 1)
        lon = _degrees(gps[4]) * (-1 if gps.get(3) == "W" else 1)
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    return (round(lon, 7), round(lat, 7)) if -180 <= lon <= 180 and -90 <= lat <= 90 else None


def _degrees(value):
    degrees, minutes, seconds = (float(part) for part in value)
    return degrees + minutes / 60 + seconds / 3600
