"""Keep it closed: stored XSS through every text field and every import, in every page state, in real Chromium
(issue #11, "Keep it closed").

The hostile world (tests/adversarial/conftest.py) holds every payload of ``XSS_PAYLOADS`` (img onerror, svg onload,
script tags, ``</script>`` inside JSON, attribute breakouts, ``javascript:`` links, template literals, ``{{ }}``,
details ontoggle, iframe srcdoc) in every text field of the public layers (descriptions, places, names, addresses,
opening hours, moderators' edits, officers' public and internal notes), in Community Payback sites, and in every
import: lamp columns' unit ids and locations, a council asset sheet, street names, police.uk fields, a GPX walk's
title and waypoints, and the zone's own name and council (``mapper zones add``).

Each page is opened once in Debian's Chromium, signed in as an administrator (who sees every page), and its states
are opened: every marker's popup and tooltip on the zone map, the repair map (each report's detail panel, with its
lamp column's tooltip), Community Payback and walk maps, the moderation page, each report's tracking page, the
hotspots page, progress, account and upload pages, the report page. A payload that runs sets ``window.__xss``, which
an init script turns into a console message naming the page: none may appear, and no ``javascript:`` link may be
made from stored text.
"""

import pytest

from tests.adversarial.conftest import HOSTILE, PASSWORD, XSS_PAYLOADS
from tests.browser.conftest import browser_type_launch_args  # noqa: F401 (Debian's Chromium, as the browser tests)
from tests.live import offline, serving, sign_in, wait_until

pytestmark = pytest.mark.browser

# Any payload that runs calls this setter (window.__xss = 1, parent.__xss = 1 from a frame): it says where.
TRAP = """
(() => {
  const report = () => console.log('XSS-RAN ' + location.href);
  try {
    Object.defineProperty(window, '__xss', {configurable: false, get() { return undefined; }, set(v) { report(); }});
  } catch (e) {}
})();
"""

# Opens every popup and tooltip of every Leaflet marker and shape on the page, one after another (each popup's
# content is made when it opens: a fetch for the zone map, built from stored text everywhere).
POKE = """async ([selector, pause]) => {
  const targets = Array.from(document.querySelectorAll(selector));
  for (const target of targets) {
    for (const kind of ['mouseover', 'click']) {
      target.dispatchEvent(new MouseEvent(kind, {bubbles: true, cancelable: true, view: window}));
    }
    await new Promise(resolve => setTimeout(resolve, pause));
  }
  return targets.length;
}"""
MARKERS = ".leaflet-marker-icon, path.leaflet-interactive"
COLUMN = ".leaflet-marker-icon:not(.repair-pin), path.leaflet-interactive"


@pytest.fixture(scope="module")
def site(world):
    with serving(world.app, "xss-sweep") as url:
        yield url


@pytest.fixture(scope="module")
def admin(browser, site):
    """A signed-in administrator's page, trapping ``window.__xss`` in every document it opens."""
    context = browser.new_context(base_url=site, locale="en-GB", viewport={"width": 2000, "height": 2000})
    context.add_init_script(TRAP)
    page = offline(context.new_page())
    page.ran = []
    page.on("console", lambda message: page.ran.append(message.text) if message.text.startswith("XSS-RAN") else None)
    page.on("dialog", lambda dialog: (page.ran.append(f"XSS-RAN dialog {dialog.message}"), dialog.dismiss()))
    sign_in(page, "/account", "admin", PASSWORD)
    yield page
    context.close()


def javascript_links(page):
    return page.evaluate("""() => Array.from(document.querySelectorAll('a[href], area[href], iframe[src], form[action]'))
        .map(e => e.getAttribute('href') || e.getAttribute('src') || e.getAttribute('action'))
        .filter(u => /^\\s*javascript:/i.test(u))""")


def visit(page, path, ready=None, poke=MARKERS, pause=40):
    """Open ``path``, wait for its map (``ready``), open every marker's popup and tooltip; return what ran."""
    page.goto(path)
    if ready:
        wait_until(page, f"document.querySelector({ready!r}) !== null", timeout=20_000)
    poked = page.evaluate(POKE, [poke, pause]) if poke else 0
    page.wait_for_timeout(150)  # an <img onerror> fires after its failed load
    return poked


def test_no_payload_runs_on_any_page_in_any_state(admin, world):
    page, wrong, poked = admin, [], {}
    lights = [item for item in world.hostile if item["layer"] == "lights"]
    walk = world.features["walk"]["id"]

    poked["index"] = visit(page, "/", poke=None)
    poked["report page"] = visit(page, f"/report?zone={HOSTILE}", poke=None)
    poked["account"] = visit(page, "/account", poke=None)

    # The zone map: the layer control (the zone's name), the legend, and every pin's popup, zoomed in far enough that
    # no pin is in a cluster.
    page.goto(f"/zones/{HOSTILE}")
    wait_until(page, "window.L && L.peopleZones && document.querySelector('.map-status')", timeout=20_000)
    page.evaluate("""() => { for (const k in window) { if (k.startsWith('map_') && window[k] instanceof L.Map) {
        window[k].setZoom(17, {animate: false}); } } }""")
    page.wait_for_timeout(600)
    poked["zone map"] = page.evaluate(POKE, [MARKERS + ", .pz-point", 40])
    page.locator(".leaflet-control-layers").first.hover()
    page.wait_for_timeout(150)
    wrong += [f"/zones/{HOSTILE}: javascript: link {u!r}" for u in javascript_links(page)]

    # The repair map: every report's panel (its lamp column's tooltip opens with it), then every pin.
    page.goto(f"/zones/{HOSTILE}/repairs")
    wait_until(page, "document.querySelector('#repair-map[data-ready=true]') !== null", timeout=20_000)
    refs = page.locator("a.report-ref[data-id]")
    for index in range(refs.count()):
        refs.nth(index).click()
        wait_until(page, "document.querySelector('.repair-panel-change') !== null", timeout=10_000)
        page.evaluate(POKE, [COLUMN, 0])  # the column's tooltip (the pins would each open their own panel)
    poked["repair panels"] = refs.count()
    poked["repair pins"] = page.evaluate(POKE, [MARKERS, 0])  # their tooltips; the last one's panel opens
    page.wait_for_timeout(300)
    wrong += [f"repairs: javascript: link {u!r}" for u in javascript_links(page)]

    poked["moderation"] = visit(page, f"/zones/{HOSTILE}/moderation", poke=None)
    page.goto(f"/zones/{HOSTILE}/moderation?report={lights[0]['ref']}")
    poked["community payback"] = visit(page, f"/zones/{HOSTILE}/community-payback",
                                       ready="#cp-map[data-ready=true]")
    poked["walk"] = visit(page, f"/walks/{HOSTILE}/{walk}", ready="#walk-map .leaflet-tile-pane")
    poked["hotspots"] = visit(page, f"/zones/{HOSTILE}/hotspots?layer=crime:anti-social-behaviour&cell=100",
                              ready="#hotspots-map[data-ready=true]")
    poked["progress"] = visit(page, f"/zones/{HOSTILE}/progress", poke=None)
    poked["walk upload"] = visit(page, f"/zones/{HOSTILE}/walks/upload", poke=None)
    poked["police upload"] = visit(page, f"/zones/{HOSTILE}/crime/upload", poke=None)
    # Tracking pages: every asset (name, description, address, place) and every light with an officer's note.
    noted = {item["ref"] for item in lights[::3]}
    for item in [item for item in world.hostile if item["layer"] == "assets" or item["ref"] in noted]:
        page.goto(f"/r/{item['ref']}", wait_until="domcontentloaded")
        wrong += [f"/r/{item['ref']}: javascript: link {u!r}" for u in javascript_links(page)]
    page.wait_for_timeout(200)

    wrong += page.ran
    assert poked["zone map"] >= len(world.hostile) and poked["repair panels"] >= len(lights), poked
    assert not wrong, "\n".join(wrong)


def test_the_payloads_are_on_the_pages_as_text(admin, world):
    """The sweep means something only if the payloads reach the pages: shown as text, never parsed as HTML."""
    page = admin
    page.goto(f"/r/{world.hostile[0]['ref']}")
    assert XSS_PAYLOADS[0] in page.locator("main").inner_text()
    page.goto("/")
    assert XSS_PAYLOADS[0] in page.locator("main").inner_text()  # the zone's name
    assert page.evaluate("() => document.querySelectorAll('img[src=x], svg[onload], details[ontoggle]').length") == 0
