"""Demo step: an Open311 app and a resident's app talk to the suite over HTTP, through the gateway."""

from __future__ import annotations

import json
import secrets
import urllib.error
import urllib.parse
import urllib.request

from redprop.config import ServiceSettings, Settings
from redprop.services.gateway.auth import hash_key
from redprop.services.gateway.options import GatewayOptions
from redprop.services.registry.sample import community_worker

#: Keys made for this demo run only (printed so a user can try the API; never stored in plain text).
DEMO_KEYS: dict[str, str] = {}


def configure(settings: Settings) -> Settings:
    """Give the demo gateway a community worker's key (the Open311 app of Zhuanqiao's hub) before the suite
    starts: it files reports for residents as the sample's community worker of Zhuanqiao."""
    DEMO_KEYS["community_admin"] = secrets.token_urlsafe(24)
    gateway = settings.service("gateway")
    options = GatewayOptions.model_validate(gateway.options)
    options.api_keys.append({"name": "demo-open311-app", "role": "community_admin", "subject": community_worker("ZQ"),
                             "district": settings.district, "sha256": hash_key(DEMO_KEYS["community_admin"])})
    services = dict(settings.services)
    services["gateway"] = ServiceSettings.model_validate(
        {**gateway.model_dump(), "options": GatewayOptions.model_validate(options.model_dump()).model_dump(mode="json")})
    return settings.model_copy(update={"services": services})


def _http(method: str, url: str, key: str | None = None, form: dict | None = None) -> tuple[int, bytes]:
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    headers = {"X-API-Key": key} if key else {}
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def open311_app(ctx) -> None:
    port = GatewayOptions.model_validate(ctx.settings.service("gateway").options).http_port
    base = f"http://127.0.0.1:{port}"
    key = DEMO_KEYS["community_admin"]
    ctx.section("Gateway: an Open311 GeoReport v2 app files a request over HTTP")
    status, body = _http("GET", f"{base}/open311/v2/services.json")
    services = json.loads(body)
    ctx.say(f"GET /open311/v2/services.json -> {status}: {len(services)} service types, e.g. "
            + ", ".join(f"{s['service_code']} ({s['service_name']})" for s in services[:3]))
    resident = ctx.rpc.registry.list(kind="household", within="ZQ-YC-B01", limit=1).items[0].owner_ids[0]
    status, body = _http("POST", f"{base}/open311/v2/requests.json", key, {
        "service_code": "sanitation", "description": "垃圾房门口堆满了装修垃圾", "account_id": resident,
        "attribute[building_id]": "ZQ-YC-B01"})
    created = json.loads(body)[0]
    ctx.say(f"POST /open311/v2/requests.json (community worker's key, for resident {resident}) -> {status}: "
            f"service_request_id {created['service_request_id']}")
    status, body = _http("GET", f"{base}/open311/v2/requests/{created['service_request_id']}.xml", key)
    ctx.say(f"GET /open311/v2/requests/{created['service_request_id']}.xml -> {status}:")
    for line in body.decode().replace("><", ">\n<").splitlines()[:12]:
        ctx.say(f"    {line}")
    status, body = _http("POST", f"{base}/open311/v2/requests.json", "not-a-key", {"service_code": "sanitation"})
    ctx.say(f"A wrong key -> {status}: {json.loads(body)}")
    ctx.say(f"\nTry it (this run's demo community worker key): curl -H 'X-API-Key: {key}' "
            f"{base}/open311/v2/requests.json")
    ctx.say(f"OpenAPI document: {base}/openapi.json")


open311_app.order = 60
open311_app.services = ("registry", "ticketing", "gateway")
open311_app.configure = configure
