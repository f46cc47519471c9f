"""The error handler answers every refusal with its own status, even where no page can be built."""

import pytest

from mapper import create_app


@pytest.mark.parametrize("path", ["/", "/zones/new-parks", "/api/zones"])
def test_a_host_outside_trusted_hosts_is_a_400_not_a_500(tmp_path, path):
    app = create_app({"DATA_DIR": tmp_path / "store", "TRUSTED_HOSTS": ["mapper.example.org"]})
    client = app.test_client()
    refused = client.get(path, headers={"Host": "evil.example", "Accept": "text/html"})
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "bad_request"
    assert client.get(path, headers={"Host": "mapper.example.org"}).status_code == 200
