"""Optional OIDC login (``options.oidc``): a bearer JWT from the district's identity provider.

The token must be signed (RS256 or ES256, never ``none`` or a shared secret) by a key in the issuer's JWKS,
carry the configured ``iss`` (and ``aud``), be within ``exp``/``nbf``, and name a registry person in
``person_claim``. The keys are read from a file or a URL and kept ``jwks_ttl`` seconds; a token with a
``kid`` the gateway has not seen reads them again at once (the issuer rotated its keys), at most every
few seconds so that made-up kids cannot flood the issuer.
"""

from __future__ import annotations

import hmac
import json
import re
import time
from pathlib import Path

import jwt
import requests

from redprop.errors import RedpropError, Unavailable
from redprop.services.gateway.options import OidcOptions

ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
REFETCH_AFTER = 5.0  # seconds at least between two readings of the keys for an unknown kid
FETCH_TIMEOUT = 5.0


class InvalidToken(RedpropError):
    """A bearer JWT that is not valid (HTTP 401)."""

    code = "unauthorized"
    retryable = False


def _invalid(message: str) -> InvalidToken:
    return InvalidToken(message, {"header": "Authorization"})


class OidcVerifier:
    def __init__(self, options: OidcOptions):
        self.options = options
        self._keys: dict[str | None, jwt.PyJWK] = {}
        self._read_at = float("-inf")

    @staticmethod
    def looks_like_jwt(token: str) -> bool:
        """A JWS compact token (API keys have no dots)."""
        return token.count(".") == 2 and token.startswith("eyJ")

    # -- keys ------------------------------------------------------------------------------------------

    def _read_jwks(self) -> dict:
        if self.options.jwks_file is not None:
            return json.loads(Path(self.options.jwks_file).read_text(encoding="utf-8"))
        response = requests.get(self.options.jwks_url, timeout=FETCH_TIMEOUT)
        response.raise_for_status()
        return response.json()

    def _refresh(self) -> None:
        try:
            data = self._read_jwks()
            keys = {}
            for entry in data.get("keys", []):
                if entry.get("use", "sig") != "sig":
                    continue
                try:
                    keys[entry.get("kid")] = jwt.PyJWK(entry)
                except jwt.PyJWTError:
                    continue  # a key of a type we do not verify with
        except (OSError, ValueError, requests.RequestException) as exc:
            # Keep the keys we had: the issuer being away must not log everyone out.
            self._read_at = time.monotonic()
            if not self._keys:
                raise Unavailable(f"the OIDC issuer's keys cannot be read ({type(exc).__name__})", {}) from None
            return
        self._keys, self._read_at = keys, time.monotonic()

    def key_for(self, kid: str | None) -> jwt.PyJWK:
        age = time.monotonic() - self._read_at
        if age > self.options.jwks_ttl or (kid not in self._keys and age > REFETCH_AFTER):
            self._refresh()
        key = self._keys.get(kid)
        if key is None and kid is None and len(self._keys) == 1:
            key = next(iter(self._keys.values()))
        if key is None:
            raise _invalid("the token is signed with a key the issuer does not publish")
        return key

    # -- tokens ----------------------------------------------------------------------------------------

    def person_id(self, token: str) -> str:
        """The registry person id the token names, once it is proved genuine and current."""
        options = self.options
        return self._person(self._claims(token, options.audience, []))

    def id_token_person(self, token: str, nonce: str) -> str:
        """The person an id_token of the login flow names: for this client (``aud`` = ``client_id``) and this
        login (its ``nonce``: a token taken from another login cannot be replayed into this one)."""
        claims = self._claims(token, self.options.client_id, ["aud", "nonce"])
        if not isinstance(claims.get("nonce"), str) or not hmac.compare_digest(claims["nonce"], nonce):
            raise _invalid("the id_token's nonce is not this login's")
        return self._person(claims)

    def _person(self, claims: dict) -> str:
        person = claims.get(self.options.person_claim)
        if not isinstance(person, str) or not ID.match(person):
            raise _invalid(f"the token's {self.options.person_claim!r} is not a registry person id")
        return person

    def _claims(self, token: str, audience: str | None, required: list[str]) -> dict:
        options = self.options
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise _invalid("the bearer token is not a well-formed JWT") from None
        alg = header.get("alg")
        if alg not in options.algorithms:
            raise _invalid(f"tokens signed with {alg!r} are not accepted (only {', '.join(options.algorithms)})")
        key = self.key_for(header.get("kid"))
        try:
            return jwt.decode(token, key=key.key, algorithms=[alg], issuer=options.issuer,
                              audience=audience, leeway=options.leeway,
                              options={"require": ["exp", "iss", options.person_claim, *required],
                                       "verify_aud": audience is not None})
        except jwt.ExpiredSignatureError:
            raise _invalid("the token has expired") from None
        except jwt.InvalidIssuerError:
            raise _invalid("the token is not from the configured issuer") from None
        except jwt.InvalidAudienceError:
            raise _invalid("the token is not for this gateway (aud)") from None
        except jwt.InvalidSignatureError:
            raise _invalid("the token's signature is not valid") from None
        except jwt.PyJWTError as exc:
            raise _invalid(f"the token is not valid ({type(exc).__name__})") from None
