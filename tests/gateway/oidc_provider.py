"""A fake OpenID provider for the tests of the app's OIDC login: discovery, ``/authorize`` (which sends the browser
straight back with a code, or ``error=access_denied``), ``/token`` (checking the client secret, the code and the PKCE
verifier) and ``/jwks``, with a key pair made here."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlencode, urlsplit

import jwt
from cryptography.hazmat.primitives.asymmetric import rsa

from redprop.testing.pytest_plugin import free_port

CLIENT_ID = "redprop-workbench"
SECRET = "s3cr3t-" + secrets.token_hex(8)
SECRET_ENV = "TEST_OIDC_CLIENT_SECRET"


class FakeProvider:
    """An OpenID provider that logs in whoever ``person`` is, or refuses (``deny``)."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        self.person = "W1"
        self.deny = False
        self.nonce: str | None = None  # None: the nonce of the authorisation request
        self.codes: dict[str, dict] = {}
        self.token_calls: list[dict] = []
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 - http.server's name
                url = urlsplit(self.path)
                if url.path == "/.well-known/openid-configuration":
                    return self.json({"issuer": provider.issuer, "authorization_endpoint": provider.issuer + "/authorize",
                                      "token_endpoint": provider.issuer + "/token",
                                      "jwks_uri": provider.issuer + "/jwks"})
                if url.path == "/jwks":
                    entry = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(provider.key.public_key()))
                    return self.json({"keys": [{**entry, "kid": "idp-1", "use": "sig"}]})
                if url.path == "/authorize":
                    query = {k: v[0] for k, v in parse_qs(url.query).items()}
                    back = {"state": query["state"]}
                    if provider.deny:
                        back["error"] = "access_denied"
                    else:
                        code = secrets.token_urlsafe(16)
                        provider.codes[code] = query
                        back["code"] = code
                    back["session_state"] = "ignored-extra"
                    self.send_response(302)
                    self.send_header("Location", f"{query['redirect_uri']}?{urlencode(back)}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return None
                return self.json({"error": "not_found"}, 404)

            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                basic = base64.b64decode(self.headers.get("Authorization", "Basic ").split(" ", 1)[1]).decode()
                client, _, secret = basic.partition(":")
                provider.token_calls.append(form)
                asked = provider.codes.pop(form.get("code", ""), None)
                challenge = base64.urlsafe_b64encode(hashlib.sha256(form.get("code_verifier", "").encode())
                                                     .digest()).rstrip(b"=").decode()
                if (unquote(client), unquote(secret)) != (CLIENT_ID, SECRET):
                    return self.json({"error": "invalid_client"}, 401)
                if (asked is None or form.get("grant_type") != "authorization_code"
                        or asked["code_challenge"] != challenge or asked["redirect_uri"] != form.get("redirect_uri")):
                    return self.json({"error": "invalid_grant"}, 400)
                now = int(time.time())
                claims = {"iss": provider.issuer, "aud": CLIENT_ID, "sub": "idp-7", "redprop_person": provider.person,
                          "nonce": provider.nonce or asked["nonce"], "iat": now, "exp": now + 300}
                id_token = jwt.encode(claims, provider.key, algorithm="RS256", headers={"kid": "idp-1"})
                return self.json({"access_token": "at", "token_type": "Bearer", "id_token": id_token})

            def json(self, body, status=200):
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def gateway_options(provider: FakeProvider, **extra) -> dict:
    """The gateway's ``oidc`` settings for this provider (the endpoints discovered)."""
    return {"issuer": provider.issuer, "jwks_url": provider.issuer + "/jwks", "person_claim": "redprop_person",
            "client_id": CLIENT_ID, "client_secret_env": SECRET_ENV, **extra}
