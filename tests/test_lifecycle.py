"""mapper.lifecycle on a real store: transitions from data/layers.toml, history split into public and private."""

import pytest

from mapper import lifecycle
from mapper.intake import submit
from tests.helpers import light

ZONE = "new-parks"


@pytest.fixture
def setup(resources, app):
    layer = resources.schema.layer("lights")
    stages = lifecycle.lifecycle_for(app.config["LAYERS_FILE"], layer)
    feature = submit(light(ZONE), "lights", schema=resources.schema, zones=resources.zones(), store=resources.store)
    return resources.store, layer, stages, feature["id"]


def test_the_shipped_lifecycle_is_fixmystreets(setup):
    _, layer, stages, _ = setup
    assert stages.priorities == ("short", "medium", "long") and stages.reopen_days == 28
    assert set(stages.transitions) == set(layer.statuses)
    assert "confirmed" not in stages.allowed_from("fixed")


def test_every_change_is_kept(setup):
    store, layer, stages, feature_id = setup
    lifecycle.change(store, layer, stages, ZONE, feature_id, by="alice", status="investigating",
                     internal_note="Check the cut-out")
    lifecycle.change(store, layer, stages, ZONE, feature_id, by="bob", priority="medium", public_note="Booked")
    changed = lifecycle.change(store, layer, stages, ZONE, feature_id, by="bob", status="fixed")
    history = changed["properties"]["history"]
    assert [(h["from"], h["to"]) for h in history] == [("open", "investigating"), ("investigating", "investigating"),
                                                       ("investigating", "fixed")]
    assert history[1]["priority"] == "medium" and all("by" not in h for h in history)
    private = store.private_history(ZONE, "lights", feature_id)
    assert [(private[i]["by"], private[i]["internal_note"]) for i in range(3)] == [
        ("alice", "Check the cut-out"), ("bob", None), ("bob", None)]
    assert "Check the cut-out" not in store.location(ZONE, "lights") and \
        "Check the cut-out" not in open(store.location(ZONE, "lights")).read()


def test_refused_transition_writes_nothing(setup):
    store, layer, stages, feature_id = setup
    lifecycle.change(store, layer, stages, ZONE, feature_id, by="alice", status="fixed")
    with pytest.raises(lifecycle.StatusConflict, match="it can become: open, in-progress"):
        lifecycle.change(store, layer, stages, ZONE, feature_id, by="alice", status="no-further-action")
    assert len(store.get(ZONE, "lights", feature_id)["properties"]["history"]) == 1
    assert len(store.private_history(ZONE, "lights", feature_id)) == 1


def test_fixed_at_is_the_last_fix(setup):
    store, layer, stages, feature_id = setup
    changed = lifecycle.change(store, layer, stages, ZONE, feature_id, by="alice", status="fixed")
    assert lifecycle.fixed_at(changed["properties"]) == changed["properties"]["history"][-1]["at"]
    assert lifecycle.reopen_deadline(changed["properties"], stages) is not None
    assert lifecycle.reopen_deadline(changed["properties"], lifecycle.Lifecycle()) is None
