"""Logging a person into the app with the district's identity provider: OpenID Connect's authorisation-code
flow with PKCE (RFC 7636), the gateway being a confidential client (``oidc.client_id`` and its secret).

``begin`` makes a state, a nonce and a PKCE verifier, keeps them in ``oidc_logins`` for ``oidc.login_ttl``
seconds (and the state in a cookie of the browser that started, against login CSRF) and answers the
provider's authorisation URL. ``finish`` takes the state once, exchanges the code at the token endpoint
(client secret and verifier) and verifies the id_token with the bearer tokens' JWKS check (issuer,
``aud`` = client id, ``exp``, the nonce). The secret is read from the environment or a file, never a setting,
and is never logged.
"""

from __future__ import annotations

import base64
import hashlib
import os
import secrets
from datetime import timedelta
from urllib.parse import quote, urlencode

import requests
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from redprop.clock import utcnow
from redprop.errors import ConfigError, Unavailable
from redprop.services.gateway.models import oidc_logins
from redprop.services.gateway.oidc import InvalidToken, OidcVerifier
from redprop.services.gateway.options import OidcOptions

SETTING = "services.gateway.options.oidc"
#: The cookie binding a login to the browser that started it (a callback URL sent to someone else fails).
STATE_COOKIE = "redprop_oidc_state"
STATE_COOKIE_PATH = "/api/v1/session/oidc/"
TIMEOUT = 10.0  # seconds for the discovery document and the token endpoint


class LoginFailed(Exception):
    """The login cannot finish; ``reason`` is the code the app shows (``/app/login?error=<reason>``: the app uses path URLs, not #)."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def client_secret(options: OidcOptions) -> str:
    """From ``client_secret_file`` if set, else the ``client_secret_env`` variable (as s3_store reads its key)."""
    if options.client_secret_file:
        try:
            with open(options.client_secret_file, encoding="utf-8") as handle:
                value = handle.read().strip()
        except OSError as exc:
            raise ConfigError(f"setting '{SETTING}.client_secret_file': cannot read "
                              f"{options.client_secret_file!r} ({exc.strerror})") from None
        if not value:
            raise ConfigError(f"setting '{SETTING}.client_secret_file': {options.client_secret_file!r} is empty")
        return value
    value = os.environ.get(options.client_secret_env, "").strip()
    if not value:
        raise ConfigError(f"setting '{SETTING}.client_secret_env': the environment variable "
                          f"{options.client_secret_env} is not set (or set '{SETTING}.client_secret_file')")
    return value


def _hash(state: str) -> str:
    return hashlib.sha256(state.encode("utf-8")).hexdigest()


def _challenge(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class OidcLogin:
    def __init__(self, options: OidcOptions, verifier: OidcVerifier, base_url: str):
        self.options = options
        self.verifier = verifier
        self.redirect_uri = base_url.rstrip("/") + options.redirect_path
        self.__secret = client_secret(options)  # read at start-up: a missing secret stops the gateway
        self._endpoints: tuple[str, str] | None = None

    def __repr__(self) -> str:  # never the secret
        return f"OidcLogin(client_id={self.options.client_id!r})"

    def endpoints(self) -> tuple[str, str]:
        """The authorisation and token endpoints: configured, or from the issuer's discovery document."""
        if self.options.authorization_endpoint and self.options.token_endpoint:
            return self.options.authorization_endpoint, self.options.token_endpoint
        if self._endpoints is None:
            url = self.options.issuer.rstrip("/") + "/.well-known/openid-configuration"
            try:
                response = requests.get(url, timeout=TIMEOUT)
                response.raise_for_status()
                document = response.json()
                found = (self.options.authorization_endpoint or document["authorization_endpoint"],
                         self.options.token_endpoint or document["token_endpoint"])
            except (requests.RequestException, ValueError, KeyError, TypeError) as exc:
                raise Unavailable(f"the identity provider's discovery document cannot be read "
                                  f"({type(exc).__name__})", {}) from None
            if not all(isinstance(u, str) and u.startswith(("https://", "http://")) for u in found):
                raise Unavailable("the identity provider's discovery document names no usable endpoints", {})
            self._endpoints = found
        return self._endpoints

    # -- the two legs -----------------------------------------------------------------------------------

    def begin(self, db: Session, district: str) -> tuple[str, str]:
        """(the provider's authorisation URL, the state for the browser's cookie)."""
        authorize, _ = self.endpoints()
        state, nonce, verifier = secrets.token_urlsafe(32), secrets.token_urlsafe(32), secrets.token_urlsafe(64)
        now = utcnow()
        db.execute(insert(oidc_logins).values(state_sha256=_hash(state), district=district, nonce=nonce,
                                              code_verifier=verifier, created_at=now,
                                              expires_at=now + timedelta(seconds=self.options.login_ttl)))
        db.execute(delete(oidc_logins).where(oidc_logins.c.expires_at < now))  # logins never finished
        query = urlencode({"response_type": "code", "client_id": self.options.client_id,
                           "redirect_uri": self.redirect_uri, "scope": " ".join(self.options.scopes),
                           "state": state, "nonce": nonce, "code_challenge": _challenge(verifier),
                           "code_challenge_method": "S256"})
        return f"{authorize}{'&' if '?' in authorize else '?'}{query}", state

    def take(self, db: Session, district: str, state: str | None, cookie: str | None) -> tuple[str, str]:
        """The login's (nonce, verifier), removed so that its state works once; the caller commits."""
        if not state or not cookie or not secrets.compare_digest(state, cookie):
            raise LoginFailed("state", "the login was not started in this browser (state and cookie differ)")
        row = db.execute(select(oidc_logins).where(oidc_logins.c.state_sha256 == _hash(state),
                                                   oidc_logins.c.district == district)).first()
        # Whoever deletes the row owns the login: two callbacks with one state cannot both go on.
        taken = row is not None and db.execute(
            delete(oidc_logins).where(oidc_logins.c.state_sha256 == row.state_sha256)).rowcount == 1
        if not taken:
            raise LoginFailed("state", "this login's state is unknown or was used already")
        if row.expires_at <= utcnow():
            raise LoginFailed("expired", "the login took too long; start again")
        return row.nonce, row.code_verifier

    def person_id(self, code: str, nonce: str, verifier: str) -> str:
        """Exchange the code for tokens and answer the person the (verified) id_token names."""
        _, token_url = self.endpoints()
        # client_secret_basic: id and secret form-encoded, then Basic (RFC 6749 2.3.1).
        auth = (quote(self.options.client_id, safe=""), quote(self.__secret, safe=""))
        try:
            response = requests.post(token_url, auth=auth, timeout=TIMEOUT, data={
                "grant_type": "authorization_code", "code": code, "redirect_uri": self.redirect_uri,
                "code_verifier": verifier, "client_id": self.options.client_id})
        except requests.RequestException as exc:
            raise LoginFailed("unavailable", f"the token endpoint cannot be reached ({type(exc).__name__})") from None
        try:
            tokens = response.json() if response.ok else None
        except ValueError:
            tokens = None
        id_token = tokens.get("id_token") if isinstance(tokens, dict) else None
        if not isinstance(id_token, str):
            raise LoginFailed("token", f"the token endpoint refused the code (HTTP {response.status_code})")
        try:
            return self.verifier.id_token_person(id_token, nonce)
        except InvalidToken as exc:
            raise LoginFailed("id_token", exc.message) from None
        except Unavailable:
            raise LoginFailed("unavailable", "the identity provider's keys cannot be read") from None
