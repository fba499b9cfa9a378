"""The workbench's static assets under ``/app/``: the single-page app built from ``web/`` by ``make web``.

Any path under /app/ that is not a built file answers index.html (the SPA's own router shows the screen),
so a reloaded or shared deep link works. Vite names its bundles by content hash: those are cached for a
year; index.html is never cached, so a new build is picked up at the next load. The files are public
(the shell of the app); every datum it shows comes from the authenticated REST API.
"""

from __future__ import annotations

import mimetypes
import os
from dataclasses import dataclass
from pathlib import Path

from werkzeug.wrappers import Response

from redprop.services.gateway.http import Route, RouteSpec, json_response

#: Where ``make web`` writes the build; REDPROP_WEB_DIST overrides it (an image copies it elsewhere).
DEFAULT_DIST = Path(__file__).resolve().parents[5] / "web" / "dist"
IMMUTABLE = "public, max-age=31536000, immutable"   # hashed file names: a new build has new names
REVALIDATE = "no-cache"                             # index.html and unhashed files: always ask

# The types a build holds, whatever the host's mime.types says.
TYPES = {".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css", ".html": "text/html",
         ".svg": "image/svg+xml", ".json": "application/json", ".woff2": "font/woff2", ".png": "image/png",
         ".ico": "image/x-icon", ".webmanifest": "application/manifest+json"}


def dist_dir() -> Path:
    return Path(os.environ.get("REDPROP_WEB_DIST") or DEFAULT_DIST)


@dataclass
class AssetSpec(RouteSpec):
    """A route whose ``{path}`` takes the rest of the URL, slashes included."""

    def werkzeug_rule(self) -> str:
        return self.path.replace("{path}", "<path:path>")


def _file(path: Path, cache: str) -> Response:
    kind = TYPES.get(path.suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/json", "image/svg+xml"):
        kind += "; charset=utf-8"
    response = Response(path.read_bytes(), 200, content_type=kind)
    response.headers["Cache-Control"] = cache
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def serve(path: str) -> Response:
    root = dist_dir().resolve()
    index = root / "index.html"
    if not index.is_file():
        return json_response({"error": {"status": 503, "code": "unavailable", "message":
                                        "the workbench is not built: run `make web`", "details": {}}}, 503)
    target = (root / path).resolve() if path else index
    # Never a file outside the build (../ in the path), never a directory listing.
    if target.is_file() and target.is_relative_to(root):
        cache = IMMUTABLE if target.parent.name == "assets" else REVALIDATE
        return _file(target, cache)
    if path.startswith("assets/"):  # a missing bundle is a 404, not the shell (a stale tab would loop)
        return json_response({"error": {"status": 404, "code": "route_not_found",
                                        "message": f"no such asset: /app/{path}", "details": {}}}, 404)
    response = _file(index, REVALIDATE)
    # The shell only runs the app's own scripts: no inline script, no other origin.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        "connect-src 'self'; object-src 'none'; base-uri 'self'; frame-ancestors 'none'")
    return response


def _asset_route(path: str, operation_id: str, summary: str):
    spec = AssetSpec(method="GET", path=path, operation_id=operation_id, summary=summary, tags=("workbench",))
    return Route.decorator(spec)


class WebAppRoutes:
    """Mixed into GatewayService: the workbench's files."""

    @_asset_route("/app/", "workbenchApp", "The workbench web app (its index.html).")
    def webapp_index(self, request, principal):
        return serve("")

    @_asset_route("/app/{path}", "workbenchAsset",
                  "A file of the workbench's build, or index.html for a screen's path.")
    def webapp_asset(self, request, principal, path):
        return serve(path)

    @Route.decorator(RouteSpec(method="GET", path="/app", operation_id="workbenchRedirect",
                               summary="Redirects to /app/.", tags=("workbench",), status=308))
    def webapp_redirect(self, request, principal):
        return Response("", 308, headers={"Location": "/app/"})
