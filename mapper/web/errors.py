"""The one error handler: every error under /api is ``{"error": {"code", "message", "field"}}``.

A MapperError carries its own status. Anything else that escapes a view is a bug: it is logged and answered with a
500 that says so, without details.
"""

import logging

from flask import jsonify, render_template, request
from flask.globals import request_ctx
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from mapper.errors import MapperError, PayloadTooLarge

log = logging.getLogger(__name__)


def wants_json():
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def answer(error):
    # Without a URL adapter (a Host outside TRUSTED_HOSTS is refused before one exists) no page can link its styles.
    # An error that passes (a 503 while photos queue) says when to come back.
    headers = {"Retry-After": str(error.retry_after)} if getattr(error, "retry_after", None) else {}
    if wants_json() or request_ctx.url_adapter is None:
        return jsonify(error.to_dict()), error.status, headers
    return render_template("error.html", error=error), error.status, headers


def init_app(app):
    @app.errorhandler(MapperError)
    def mapper_error(error):
        return answer(error)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error):
        return answer(PayloadTooLarge(f"The request is larger than the {app.config['MAX_CONTENT_LENGTH']} bytes "
                                      "this server accepts."))

    @app.errorhandler(HTTPException)
    def http_error(error):
        code = (error.name or "error").lower().replace(" ", "_")
        return answer(MapperError(error.description or error.name, code=code, status=error.code))

    @app.errorhandler(Exception)
    def unexpected(error):
        log.exception("unhandled error on %s %s", request.method, request.path)
        return answer(MapperError("Something went wrong on our side; it has been logged.", code="internal",
                                  status=500))
