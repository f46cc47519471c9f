"""A Flask app served for real on 127.0.0.1, for the browser tests."""

import threading
from contextlib import contextmanager

from werkzeug.serving import make_server


@contextmanager
def serving(app, name="live-server"):
    """Serve ``app`` on a free port of 127.0.0.1 in a thread; yields the base URL, then stops the server."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
