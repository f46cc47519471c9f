"""The error hierarchy: every failure a user or client can cause is a MapperError with an HTTP status.

The web layer turns these into ``{"error": {"code", "message", "field"}}``; the CLI prints the message.
Messages quote the bad value so that a resident or an integrator can act on them.
"""


class MapperError(Exception):
    """Base class. ``status`` is the HTTP status the web layer answers with."""

    status = 400
    code = "bad_request"

    def __init__(self, message, field=None, code=None, status=None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status

    def to_dict(self):
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


class ValidationError(MapperError):
    """The input is well-formed but not acceptable (wrong type, out of range, unknown category...)."""

    status = 422
    code = "invalid"


class MalformedInput(MapperError):
    """The input cannot be parsed at all (not JSON, not UTF-8, nested too deeply)."""

    status = 400
    code = "malformed"


class PayloadTooLarge(MapperError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(MapperError):
    status = 415
    code = "unsupported_media_type"


class NotFound(MapperError):
    status = 404
    code = "not_found"


class ZoneNotFound(NotFound):
    code = "zone_not_found"


class LayerNotFound(NotFound):
    code = "layer_not_found"


class FeatureNotFound(NotFound):
    code = "feature_not_found"


class OutsideZone(ValidationError):
    """A point that lies outside the zone it was sent to, or outside every zone."""

    code = "outside_zone"


class StoreError(MapperError):
    """The store cannot serve a layer. Not the client's fault: 503 with an actionable message."""

    status = 503
    code = "store_unavailable"


class CorruptLayer(StoreError):
    """A layer file that is not what the store wrote: reported with its path and line, never overwritten."""

    code = "corrupt_layer"

    def __init__(self, path, line, reason):
        self.path = str(path)
        self.line = line
        self.reason = reason
        super().__init__(f"{self.path}:{line}: {reason}")

    def to_dict(self):
        # Clients learn which layer is damaged and what to do, not where the server keeps its files.
        from pathlib import Path

        layer = f"{Path(self.path).parent.name}/{Path(self.path).stem}"
        message = (f"The layer {layer} is damaged at line {self.line} ({self.reason}) and cannot be served until an "
                   "administrator repairs it; `mapper check` lists the problem.")
        return {"error": {"code": self.code, "message": message, "field": None}}
