"""Issue #11, finding 1: photo decompression bombs and the memory a photo may cost.

``photos.py`` once set ``Image.MAX_IMAGE_PIXELS = 60_000_000``, which Pillow enforces only above twice that, so a
~400 KB PNG of 10,900 x 10,900 was decoded whole (the server grew by about a gigabyte, four at once by 4 GB) and
answered 201. Now the header's width x height is refused before a pixel is decoded, JPEGs decode at reduced scale
(``draft``), and at most ``DECODING_AT_ONCE`` photos decode at once in a process.

Memory is measured as it is: the peak resident set (the kernel's ``VmHWM``, which sees Pillow's C allocations,
unlike tracemalloc) of a fresh Python process while it saves the photo, counted from after a warm-up that loads
every codec. Images are built here: one colour or gradients, which compress to a few hundred KB whatever their pixel
count.
"""

import io
import json
import struct
import subprocess
import sys
import textwrap
import threading
import zlib
from pathlib import Path

import pytest
from PIL import Image

from mapper import photos
from tests.helpers import INSIDE

LON, LAT = INSIDE["bell-foundry"]
JSON = {"Accept": "application/json"}
BUDGET_MB = 200  # what one photo may cost, at most (issue #11)
ROOT = Path(__file__).resolve().parents[2]


def png_of_one_colour(width, height):
    """An RGB PNG built with zlib directly, one row at a time: 10,900 x 10,900 is ~360 MB of pixels in ~350 KB."""
    row = b"\x00" + b"\x80\x80\x80" * width  # filter "none", then mid grey
    squeeze = zlib.compressobj(9)
    data = b"".join(squeeze.compress(row) for _ in range(height)) + squeeze.flush()

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def gradient(width, height, mode):
    """A smooth picture in ``mode`` (it compresses well, and every codec still has to decode every pixel)."""
    grey = Image.linear_gradient("L").resize((width, height))
    colour = Image.merge("RGB", (grey, grey.transpose(Image.Transpose.FLIP_LEFT_RIGHT), grey))
    if mode == "RGBA":
        colour.putalpha(grey)
        return colour
    return colour.convert(mode)


def encoded(image, kind, **options):
    out = io.BytesIO()
    image.save(out, kind, **options)
    data = out.getvalue()
    assert len(data) <= photos.MAX_BYTES
    return data


MEASURE = textwrap.dedent("""
    import io, json, sys, threading, tempfile
    from PIL import Image
    from mapper import photos

    def peak_mb():
        # The kernel's high-water mark of this process's resident memory (what ru_maxrss reports, but without the
        # parent's peak, which ru_maxrss carries across fork and exec: pytest's own images would hide ours).
        with open("/proc/self/status") as status:
            return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:")) / 1024

    settings = json.loads(sys.argv[1])
    for kind in ("JPEG", "PNG", "WEBP"):  # load every codec and the store's writers before the baseline
        warm = io.BytesIO()
        Image.new("RGBA" if kind != "JPEG" else "RGB", (64, 48)).save(warm, kind)
        photos.save_photo(tempfile.mkdtemp(), "warm-up", warm.getvalue())
        photos.gps_of(warm.getvalue())
    data = open(settings["path"], "rb").read()
    if settings.get("wait") is not None:
        photos.WAIT_SECONDS = settings["wait"]
    root = tempfile.mkdtemp()
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # start the high-water mark again from here: the warm-up's own peak is not the photo's
    before = peak_mb()
    answers = []

    def save():
        try:
            photos.gps_of(data)  # the report form reads the GPS first, before the photo is saved
            answers.append(photos.save_photo(root, "bell-foundry", data))
        except Exception as error:  # reported to the test, which decides
            answers.append(f"{type(error).__name__}: {error}")

    threads = [threading.Thread(target=save) for _ in range(settings.get("threads", 1))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(json.dumps({"growth_mb": peak_mb() - before, "answers": answers}))
""")


def peak_growth(tmp_path, data, threads=1, wait=None):
    """Save ``data`` as a photo ``threads`` times at once in a fresh process: (peak RSS growth in MB, answers)."""
    path = tmp_path / "upload.bin"
    path.write_bytes(data)
    settings = json.dumps({"path": str(path), "threads": threads, "wait": wait})
    finished = subprocess.run([sys.executable, "-c", MEASURE, settings], capture_output=True, text=True, cwd=ROOT,
                              timeout=300, check=True)
    result = json.loads(finished.stdout.strip().splitlines()[-1])
    return result["growth_mb"], result["answers"]


def stored_name(answer):
    return isinstance(answer, str) and answer.endswith(".jpg") and ":" not in answer


@pytest.fixture
def token(client):
    return client.get("/report/token").get_json()["csrf_token"]


def send(client, token, photo, name="IMG_0001.png"):
    data = {"csrf_token": token, "kind": "light", "category": "out", "lon": str(LON), "lat": str(LAT),
            "photo": (io.BytesIO(photo), name)}
    return client.post("/report", data=data, headers=JSON, content_type="multipart/form-data")


def nothing_stored(client, data_dir):
    features = client.get("/api/zones/bell-foundry/lights.geojson").get_json()["features"]
    photos_dir = data_dir / photos.PHOTO_DIR
    return features == [] and not (photos_dir.exists() and any(photos_dir.rglob("*.jpg")))


# (a) ----------------------------------------------------------------------------------------------------------------

def test_a_png_bomb_of_10900_by_10900_is_refused_unread_and_nothing_is_stored(client, token, data_dir, tmp_path):
    bomb = png_of_one_colour(10_900, 10_900)
    assert len(bomb) < 500 * 1024  # the 460 KB upload: small on the wire, 356 MB of pixels

    response = send(client, token, bomb)
    assert response.status_code == 413, response.get_json()
    error = response.get_json()["error"]
    assert error["field"] == "photo" and "10,900 x 10,900 pixels" in error["message"]
    assert "megapixels" in error["message"]
    assert nothing_stored(client, data_dir)

    # Refused from the header: the GPS look-up and the check together cost no more than a few MB (it was ~1 GB).
    growth, answers = peak_growth(tmp_path, bomb)
    assert answers[0].startswith("PayloadTooLarge") and growth < 20, (growth, answers)


@pytest.mark.parametrize("kind, size, options", [
    ("PNG", (4_000, 4_001), {}),  # just over the PNG cap
    ("WEBP", (4_000, 2_001), {"lossless": True}),  # just over the WebP cap
    ("JPEG", (6_000, 4_001), {"progressive": True}),  # just over the JPEG cap
    ("PNG", (16_385, 10), {}),  # a side longer than any camera's
    ("PNG", (2_100, 100), {}),  # 21:1, no photo
])
def test_images_past_a_cap_are_refused_before_decoding(client, token, data_dir, kind, size, options):
    data = encoded(Image.new("RGB", size, "grey"), kind, **options)
    response = send(client, token, data, f"IMG_0001.{kind.lower()}")
    assert response.status_code in (413, 422), response.get_json()
    assert response.get_json()["error"]["field"] == "photo"
    assert nothing_stored(client, data_dir)


def test_only_the_first_frame_of_an_animation_is_decoded(client, token, data_dir):
    frames = [Image.new("RGB", (640, 480), colour) for colour in ("red", "green", "blue")]
    for kind in ("WEBP", "PNG"):  # animated WebP and APNG
        data = encoded(frames[0], kind, save_all=True, append_images=frames[1:], duration=100)
        response = send(client, token, data, f"anim.{kind.lower()}")
        assert response.status_code == 201, response.get_json()
        name = response.get_json()["feature"]["properties"]["photo"]
        kept = Image.open(data_dir / photos.PHOTO_DIR / "bell-foundry" / name)
        assert getattr(kept, "n_frames", 1) == 1 and kept.getpixel((320, 240))[0] > 200  # red: the first frame


@pytest.mark.parametrize("kind", ["GIF", "TIFF", "BMP"])
def test_other_formats_never_reach_a_decoder(client, token, data_dir, kind):
    response = send(client, token, encoded(Image.new("RGB", (64, 64)), kind), f"x.{kind.lower()}")
    assert response.status_code == 422 and response.get_json()["error"]["field"] == "photo"
    assert nothing_stored(client, data_dir)


# (b) ----------------------------------------------------------------------------------------------------------------

# The largest photo of each kind that is accepted: just under its cap (the refusals above start just over it).
@pytest.mark.parametrize("kind, mode, size, options", [
    # A phone's 24 Mpx JPEG, progressive 4:4:4: the costliest JPEG a phone could send (it was 229 MB).
    ("JPEG", "RGB", (6_000, 4_000), {"progressive": True, "subsampling": 0}),
    ("JPEG", "CMYK", (5_196, 3_464), {"progressive": True}),  # four components: three quarters of the JPEG cap
    ("PNG", "RGBA", (4_898, 3_266), {}),  # decoded whole, then premultiplied for the shrink
    ("WEBP", "RGBA", (3_464, 2_309), {"lossless": True}),  # libwebp's canvases and Pillow's copy
], ids=["jpeg-progressive-444", "jpeg-cmyk-progressive", "png-rgba", "webp-rgba"])
def test_the_largest_accepted_photo_of_each_kind_costs_under_200_mb(tmp_path, kind, mode, size, options):
    data = encoded(gradient(*size, mode), kind, **options)
    growth, answers = peak_growth(tmp_path, data)
    assert stored_name(answers[0]), answers  # accepted: a photo at the cap still goes in
    assert growth < BUDGET_MB, f"{kind} {mode} {size}: peak growth {growth:.0f} MB"


# (c) ----------------------------------------------------------------------------------------------------------------

def test_four_photos_at_once_decode_two_at_a_time(tmp_path):
    """Four of the costliest accepted photos sent at once: memory stays at what two cost, and all four are kept."""
    data = encoded(gradient(4_898, 3_266, "RGBA"), "PNG")
    alone, _ = peak_growth(tmp_path, data)
    together, answers = peak_growth(tmp_path, data, threads=4, wait=300)  # here the bound is tested, not the wait
    assert all(stored_name(answer) for answer in answers) and len(set(answers)) == 4, answers
    # Four decoding at once cost ~4x (578 MB measured before the bound); two at a time stay near 2x, with room for
    # the allocator's fragmentation (342 MB against 2 x 149 was seen on a loaded CI-sized machine).
    assert together < 2.5 * alone, f"one photo {alone:.0f} MB, four at once {together:.0f} MB"
    assert together < 2 * BUDGET_MB and photos.DECODING_AT_ONCE == 2


def test_a_photo_that_waits_too_long_for_a_slot_is_a_503_with_retry_after(client, token, data_dir, monkeypatch):
    monkeypatch.setattr(photos, "WAIT_SECONDS", 0.2)
    photo = encoded(Image.new("RGB", (800, 600), "orange"), "JPEG")
    release, holding = threading.Event(), []

    def hold_a_slot():
        with photos.decoding_slot():
            holding.append(True)
            release.wait(30)

    holders = [threading.Thread(target=hold_a_slot) for _ in range(photos.DECODING_AT_ONCE)]
    for holder in holders:
        holder.start()
    try:
        while len(holding) < photos.DECODING_AT_ONCE:
            threading.Event().wait(0.01)
        response = send(client, token, photo, "IMG_0001.jpg")
    finally:
        release.set()
        for holder in holders:
            holder.join()
    assert response.status_code == 503, response.get_json()
    assert int(response.headers["Retry-After"]) > 0
    assert response.get_json()["error"]["code"] == "busy" and response.get_json()["error"]["field"] == "photo"
    assert nothing_stored(client, data_dir)
    assert send(client, token, photo, "IMG_0001.jpg").status_code == 201  # the slots are free again


# (d) ----------------------------------------------------------------------------------------------------------------

def test_a_phone_jpeg_at_the_cap_decodes_at_reduced_scale(tmp_path):
    """A 24 Mpx baseline JPEG (a phone's) would be 96 MB decoded whole; libjpeg's DCT scaling (draft) decodes it at
    1/2 scale or less, so the whole save stays far below that."""
    width, height = 6_000, 4_000
    data = encoded(gradient(width, height, "RGB"), "JPEG", quality=85)
    growth, answers = peak_growth(tmp_path, data)
    assert stored_name(answers[0]), answers
    assert growth < width * height * 4 / 2**20 * 0.75, f"{width}x{height}: {growth:.0f} MB"
    image = photos.open_image(data)
    assert max(image.size) == max(photos.SIZES.values()) and image.mode == "RGB"
