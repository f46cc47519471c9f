"""Shared fixtures: an app on a real temporary store, its client, and points inside each shipped zone."""

import pytest

from mapper import create_app

@pytest.fixture
def data_dir(tmp_path):
    return tmp_path / "store"


@pytest.fixture
def app(data_dir):
    return create_app({"DATA_DIR": data_dir, "TESTING": True})


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def resources(app):
    return app.extensions["mapper"]


@pytest.fixture
def store(resources):
    return resources.store
