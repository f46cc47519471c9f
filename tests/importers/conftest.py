"""Fixtures for the importer tests: the shipped schema and a helper that writes a file into tmp_path."""

import pytest

from mapper.config import SHIPPED_DATA_DIR
from mapper.schema import load_schema


@pytest.fixture
def schema():
    return load_schema(SHIPPED_DATA_DIR / "layers.toml")


@pytest.fixture
def write(tmp_path):
    """``write(name, content)``: a file in tmp_path from str (UTF-8) or bytes; returns its path."""

    def write_file(name, content):
        path = tmp_path / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    return write_file
