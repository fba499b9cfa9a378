"""A real S3 server for the s3 photo store's tests: moto's ``moto_server`` on a free port of this machine.

It checks signatures the way S3 does (``INITIAL_NO_AUTH_ACTION_COUNT``: the first few requests, which make
the gateway's IAM user, its key and its policy, go unsigned; every request after them must be signed with a
key the server knows), so wrong credentials are refused as a real server refuses them.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

from redprop.testing.pytest_plugin import free_port

#: CreateUser, PutUserPolicy, CreateAccessKey: unsigned; everything after them must be signed.
SETUP_ACTIONS = 3


@dataclass(frozen=True)
class S3Key:
    access_key_id: str
    secret_access_key: str


class MotoS3:
    """``with MotoS3(log_dir) as s3``: ``s3.endpoint_url``, ``s3.key`` (allowed everything on S3),
    ``s3.client(key)`` (a botocore client), ``s3.make_bucket(name)``."""

    def __init__(self, log_dir: Path):
        self.port = free_port()
        self.endpoint_url = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(log_dir) / "moto_server.log"
        self.process: subprocess.Popen | None = None
        self.key: S3Key | None = None

    def __enter__(self) -> MotoS3:
        binary = shutil.which("moto_server", path=str(Path(sys.executable).parent)) or shutil.which("moto_server")
        assert binary, "moto_server not installed: it comes with moto[s3] from requirements/dev.txt"
        env = {**os.environ, "INITIAL_NO_AUTH_ACTION_COUNT": str(SETUP_ACTIONS),
               "MOTO_ALLOW_NONEXISTENT_REGION": "true"}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen([binary, "-H", "127.0.0.1", "-p", str(self.port)], stdout=log,
                                            stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.monotonic() + 120  # a loaded machine: moto imports a lot before it listens
        while True:
            try:
                requests.get(self.endpoint_url + "/moto-api/", timeout=5)
                break
            except requests.ConnectionError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    raise RuntimeError(f"moto_server did not start: see {self.log_path}") from None
                time.sleep(0.3)
        try:
            self.key = self._make_key()
        except BaseException:  # __exit__ is not called when __enter__ fails: stop the server here
            self.__exit__(None, None, None)
            raise
        return self

    def _make_key(self) -> S3Key:
        iam = self.client(S3Key("setup", "setup"), "iam")
        iam.create_user(UserName="redprop-gateway")
        iam.put_user_policy(UserName="redprop-gateway", PolicyName="photos", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
        made = iam.create_access_key(UserName="redprop-gateway")["AccessKey"]
        return S3Key(made["AccessKeyId"], made["SecretAccessKey"])

    def client(self, key: S3Key | None = None, service: str = "s3"):
        import botocore.session
        from botocore.config import Config

        key = key or self.key
        return botocore.session.Session().create_client(
            service, endpoint_url=self.endpoint_url, region_name="us-east-1", aws_access_key_id=key.access_key_id,
            aws_secret_access_key=key.secret_access_key, config=Config(s3={"addressing_style": "path"}))

    def make_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        return name

    def __exit__(self, *exc) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
