"""Report photos: checked, resized and stripped of every piece of metadata before anything is kept.

The original upload is never written to disk. What is kept are two re-encoded JPEGs (a display copy and a thumbnail)
made from the pixels alone, so no EXIF, GPS, XMP, ICC comment or maker note from the phone can be served. Photos live
under ``<data dir>/_photos/<zone>/`` (``_photos`` is not a valid zone id, so it cannot clash with a zone).
"""

import io
import math
import secrets
import threading
from contextlib import contextmanager
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from mapper.durable import atomic_write, ensure_directory
from mapper.errors import MapperError, PayloadTooLarge, ValidationError

MAX_BYTES = 10 * 1024 * 1024
# Pixels a photo may have, read from its header before anything is decoded, so that no photo costs more than about
# 200 MB of memory (peaks measured on Pillow 13 in tests/adversarial/test_photo_bomb.py, which keeps them so).
# - JPEG (phones' photos): 12 Mpx (4032 x 3024) by default; 48-200 Mpx sensors bin to 12-50 Mpx, and 24 Mpx
#   (6000 x 4000, the iPhone 15's default) is the largest common default. libjpeg decodes at 1/2-1/8 scale (draft),
#   but a progressive JPEG buffers 2 bytes a pixel per colour component first: 24 Mpx peaks at ~160 MB (4:4:4).
#   A CMYK JPEG (4 components, never a phone's) gets three quarters of that, 18 Mpx.
# - PNG (screenshots, edited pictures): decoded whole at 4 bytes a pixel, and again for the shrink when it has
#   alpha: ~9 bytes a pixel, so 16 Mpx (~145 MB).
# - WebP: libwebp's two canvases, Pillow's copy and the image: ~17 bytes a pixel, so 8 Mpx (~140 MB).
# 24 Mpx PNGs peaked at 215 MB and 12 Mpx WebPs at 210 MB, hence the lower caps for them.
MAX_PIXELS = {"JPEG": 24_000_000, "MPO": 24_000_000, "PNG": 16_000_000, "WEBP": 8_000_000}
JPEG_COMPONENTS = 3  # the JPEG cap is for YCbCr; more components shrink it in proportion
MAX_SIDE = 16_384  # no phone writes a longer side; libjpeg and libwebp cannot either
MAX_ASPECT = 20  # a phone panorama is about 8:1; a 1 x 16,384 strip is an attack, not a photo
FORMATS = ("JPEG", "PNG", "WEBP")  # only these decoders see an upload (GIF, TIFF, PSD... refused unread); a phone's
# MPO (a JPEG with a second picture after it) opens through the JPEG one and is read as its first picture
SIZES = {"": 1600, "-thumb": 320}  # file suffix -> longest side in pixels
PHOTO_DIR = "_photos"
# Photos decoded at once in this process: each may hold up to ~200 MB for a moment, so two keep a worker under half a
# GB whatever arrives; the others wait their turn, and after WAIT_SECONDS are told to come back (503, Retry-After).
DECODING_AT_ONCE = 2
WAIT_SECONDS = 10.0
RETRY_AFTER_SECONDS = 30
_decoding = threading.BoundedSemaphore(DECODING_AT_ONCE)


class PhotosBusy(MapperError):
    """Every decoding slot stayed taken for WAIT_SECONDS: not the client's fault, and worth sending again later."""

    status = 503
    code = "busy"
    retry_after = RETRY_AFTER_SECONDS


@contextmanager
def decoding_slot(wait=None):
    """Hold one of the process's DECODING_AT_ONCE photo-decoding slots for the ``with`` block."""
    if not _decoding.acquire(timeout=WAIT_SECONDS if wait is None else wait):
        raise PhotosBusy("The server is busy with other photos just now. Please send your report again in a minute; "
                         "nothing was saved.", field="photo")
    try:
        yield
    finally:
        _decoding.release()


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
    with decoding_slot():
        image = open_image(data)
        copies = {suffix: clean_jpeg(image, longest) for suffix, longest in SIZES.items()}
        del image
    name = secrets.token_hex(16)
    directory = Path(root) / PHOTO_DIR / zone
    ensure_directory(directory)
    for suffix, jpeg in copies.items():
        atomic_write(directory / f"{name}{suffix}.jpg", jpeg)
    return f"{name}.jpg"


def pixel_cap(image):
    """The most pixels an opened (not decoded) image may have: :data:`MAX_PIXELS` of its format."""
    cap = MAX_PIXELS[image.format]
    if image.format in ("JPEG", "MPO"):
        cap = cap * JPEG_COMPONENTS // max(JPEG_COMPONENTS, getattr(image, "layers", JPEG_COMPONENTS))
    return cap


def check_dimensions(width, height, cap):
    """Refuse, from the header alone, an image whose pixels would cost more memory than any phone photo."""
    longest, shortest = max(width, height), max(min(width, height), 1)
    if width * height > cap or longest > MAX_SIDE:
        raise too_large(f"{width:,} x {height:,} pixels ({width * height / 1e6:.0f} megapixels)", cap)
    if longest / shortest > MAX_ASPECT:
        raise ValidationError(f"The photo is {width:,} x {height:,} pixels: too long and thin to show (at most "
                              f"{MAX_ASPECT}:1).", field="photo")


def too_large(what, cap):
    return PayloadTooLarge(f"The photo is {what}; the limit is {cap / 1e6:.0f} megapixels and {MAX_SIDE:,} pixels a "
                           "side. Please send it at your camera's standard size, or a smaller copy.", field="photo")


def shrunk_size(size, longest):
    """``size`` scaled so that its longest side is ``longest`` (never enlarged), each side at least 1."""
    scale = min(1.0, longest / max(size))
    return tuple(max(1, math.ceil(side * scale)) for side in size)


def open_image(data, longest=max(SIZES.values())):
    """The photo's first frame, decoded at no more than ``longest`` pixels a side, upright; or an error a resident can
    act on. Its size is checked from the header before a pixel is decoded."""
    try:
        image = Image.open(io.BytesIO(data), formats=FORMATS)  # reads the header; no pixel is decoded yet
        check_dimensions(*image.size, pixel_cap(image))
        if image.format in ("JPEG", "MPO"):
            # libjpeg scales by 1/2, 1/4 or 1/8 while it decodes: a 24 Mpx photo never exists in memory at full size.
            image.draft("RGB", shrunk_size(image.size, longest))
        image.load()  # the first frame only: an animated WebP or APNG is never decoded further
        if image.mode not in ("RGB", "RGBA", "L", "LA"):
            image = image.convert("RGBA" if "transparency" in image.info or "A" in image.mode else "RGB")
        image.thumbnail((longest, longest))  # in place: the full-size pixels are freed here
        return ImageOps.exif_transpose(image).convert("RGB")  # keep the picture the right way up once EXIF is gone
    except MapperError:
        raise
    except Image.DecompressionBombError:  # Pillow's own last line (a WebP canvas past 179 Mpx), before ours
        raise too_large("far larger than any camera's", MAX_PIXELS["JPEG"]) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError):
        raise ValidationError("The photo could not be read as a JPEG, PNG or WebP image.", field="photo") from None


def clean_jpeg(image, longest):
    """Pixels only, re-encoded: no metadata survives."""
    copy = image.copy()
    copy.thumbnail((longest, longest))
    out = io.BytesIO()
    copy.save(out, "JPEG", quality=82, optimize=True, progressive=True)
    return out.getvalue()


def gps_of(data):
    """(lon, lat) from an image's EXIF GPS tags, or None. Read before the metadata is thrown away."""
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as image:
            raw = image.info.get("exif")  # from the header: PNG's getexif() would decode every pixel to look further
        if not raw:
            return None
        exif = Image.Exif()
        exif.load(raw)
        gps = exif.get_ifd(0x8825)
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, ValueError, SyntaxError, EOFError):
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
