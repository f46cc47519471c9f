"""The web layer: blueprints that parse a request, call validate/zones/store/render, and answer."""
