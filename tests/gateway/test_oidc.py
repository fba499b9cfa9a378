"""Optional OIDC login: a bearer JWT of the configured issuer, verified against its JWKS (a file here, with
key pairs made for the test), names a registry person who then acts with their posts' role."""

from __future__ import annotations

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.gateway.conftest import start_gateway

pytestmark = pytest.mark.integration
ISSUER = "https://id.test.example/realms/990001"
AUDIENCE = "redprop-gateway"


def jwk(private_key, kid: str) -> dict:
    algorithm = jwt.algorithms.RSAAlgorithm if isinstance(private_key, rsa.RSAPrivateKey) else jwt.algorithms.ECAlgorithm
    entry = json.loads(algorithm.to_jwk(private_key.public_key()))
    return {**entry, "kid": kid, "use": "sig"}


@pytest.fixture(scope="module")
def keys():
    return {"rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ec": ec.generate_private_key(ec.SECP256R1()),
            "other": rsa.generate_private_key(public_exponent=65537, key_size=2048)}


@pytest.fixture
def gateway(run_suite, small_district, keys, tmp_path):
    jwks = tmp_path / "jwks.json"
    jwks.write_text(json.dumps({"keys": [jwk(keys["rsa"], "rsa-1"), jwk(keys["ec"], "ec-1")]}))
    return start_gateway(run_suite, small_district, oidc={
        "issuer": ISSUER, "audience": AUDIENCE, "jwks_file": str(jwks), "person_claim": "redprop_person"})


def token(key, kid="rsa-1", alg="RS256", **claims) -> str:
    now = int(time.time())
    body = {"iss": ISSUER, "aud": AUDIENCE, "sub": "idp-user-1", "redprop_person": "A1", "iat": now,
            "exp": now + 300, **claims}
    return jwt.encode({k: v for k, v in body.items() if v is not None}, key, algorithm=alg, headers={"kid": kid})


def bearer(gateway, value: str, path: str = "/api/v1/session"):
    return gateway.call("GET", path, headers={"Authorization": f"Bearer {value}"})


def test_a_good_token_of_the_issuer_logs_the_person_in_with_their_posts(gateway, keys):
    for signed in (token(keys["rsa"]), token(keys["ec"], kid="ec-1", alg="ES256")):
        response = bearer(gateway, signed)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["person_id"] == "A1" and body["roles"] == ["community_worker"] and body["role"] == "community_admin"
    me = bearer(gateway, token(keys["rsa"], redprop_person="PCO1"), "/api/v1/me").json()
    assert me["via"] == "jwt" and me["actor"] == {"kind": "handler", "id": "CO1", "handler_kind": "property_company",
                                                  "person_id": "PCO1"}
    # API keys still work beside it.
    assert gateway.call("GET", "/api/v1/me", "operator").status_code == 200


@pytest.mark.parametrize("case, make, message", [
    ("bad signature", lambda k: token(k["other"]), "signature"),
    ("expired", lambda k: token(k["rsa"], exp=int(time.time()) - 120), "expired"),
    ("wrong issuer", lambda k: token(k["rsa"], iss="https://evil.example"), "issuer"),
    ("wrong audience", lambda k: token(k["rsa"], aud="another-app"), "aud"),
    ("unknown kid", lambda k: token(k["other"], kid="rsa-9"), "does not publish"),
    ("no exp", lambda k: token(k["rsa"], exp=None), "not valid"),
    ("no person", lambda k: token(k["rsa"], redprop_person=None), "not valid"),
    ("person not an id", lambda k: token(k["rsa"], redprop_person="../x"), "person id"),
    ("unknown person", lambda k: token(k["rsa"], redprop_person="NOBODY"), "registry"),
])
def test_bad_tokens_are_401_saying_why(gateway, keys, case, make, message):
    response = bearer(gateway, make(keys))
    assert response.status_code == 401, (case, response.text)
    assert message in response.json()["error"]["message"], (case, response.text)


def test_unsigned_and_shared_secret_tokens_are_refused(gateway, keys):
    from cryptography.hazmat.primitives import serialization

    claims = json.loads(jwt.api_jws.base64url_decode(token(keys["rsa"]).split(".")[1]))
    unsigned = jwt.encode(claims, None, algorithm="none", headers={"kid": "rsa-1"})
    # The classic confusion attack: HS256 with the issuer's public key as the "secret".
    public = keys["rsa"].public_key().public_bytes(serialization.Encoding.PEM,
                                                   serialization.PublicFormat.SubjectPublicKeyInfo)
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
    body = b64(json.dumps(claims).encode())
    forged = f"{head}.{body}." + b64(hmac.new(public, f"{head}.{body}".encode(), hashlib.sha256).digest())
    for bad in (unsigned, forged):
        response = bearer(gateway, bad)
        assert response.status_code == 401 and "not accepted" in response.json()["error"]["message"], response.text
