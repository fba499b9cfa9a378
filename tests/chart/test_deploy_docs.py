"""docs/deploy.md, followed literally: its commands fit the chart and each other.

No cluster runs in CI, so each step is checked as far as this machine can: every ``helm install``,
``upgrade`` and ``template`` command renders with its values files and ``--set`` flags; every Secret
and key the rendered release reads (``secretKeyRef``, a Federation's ``uriSecret``) is created by a
``kubectl create secret`` of the guide in that namespace; the URLs in those Secrets are settings the
services accept; and the SQL of step 1 runs on a real PostgreSQL and creates exactly the databases the
Secrets name. (The ``rabbitmqctl`` steps are the ones tests/federation/test_federation.py performs
through the management API.)
"""

from __future__ import annotations

import re
import shlex
import uuid
from collections import defaultdict

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from redprop.config import Settings
from redprop.testing.databases import DEFAULT_SERVER_URL
from tests.chart.chartlib import OPERATOR_APIS, ROOT, WORKLOAD_KINDS, example_values, merged, render

DEPLOY_MD = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")


def code_blocks(language: str) -> list[str]:
    return [body for lang, body in re.findall(r"```(\w*)\n(.*?)```", DEPLOY_MD, re.S) if lang == language]


def commands() -> list[list[str]]:
    out = []
    for block in code_blocks("bash"):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words:
                out.append(words)
    return out


def option(words: list[str], *names: str) -> list[str]:
    return [words[i + 1] for i, w in enumerate(words[:-1]) if w in names]


def set_value(values: dict, dotted: str, value: str) -> None:
    *parents, leaf = dotted.split(".")
    node = values
    for part in parents:
        node = node.setdefault(part, {})
    node[leaf] = value


HELM = [w for w in commands() if w[:1] == ["helm"] and w[1] in ("install", "upgrade", "template")]
SECRETS: dict[str, dict[str, dict[str, str]]] = defaultdict(dict)  # namespace -> secret -> key -> value
for words in commands():
    if words[:1] == ["kubectl"] and "secret" in words and "create" in words:
        name = words[words.index("generic") + 1]
        literals = dict(v.split("=", 1) for v in option(words, "--from-literal") + [
            w.split("=", 1)[1] for w in words if w.startswith("--from-literal=")])
        SECRETS[option(words, "-n")[0]][name] = literals


def rendered(words: list[str]):
    release, chart = words[2], words[3]
    assert chart == "charts/redprop", words
    [namespace] = option(words, "-n")
    values: dict = {}
    for path in option(words, "-f"):
        values = merged(values, example_values(ROOT / path))
    for pair in option(words, "--set"):
        key, _, value = pair.partition("=")
        set_value(values, key, "from-the-shell" if value.startswith("$") else value)
    return release, namespace, render(values, name=release, namespace=namespace, api_versions=OPERATOR_APIS,
                                      is_upgrade=words[1] == "upgrade")


def test_the_guide_has_the_commands_this_test_reads():
    assert {w[1] for w in HELM} == {"install", "upgrade", "template"}
    assert {"redprop-city", "redprop-310101", "redprop-310104"} <= set(SECRETS)


@pytest.mark.parametrize("words", HELM, ids=[" ".join(w[1:3]) for w in HELM])
def test_every_helm_command_renders_and_finds_the_secrets_the_guide_creates(words):
    release, namespace, manifests = rendered(words)
    own = {m.name for m in manifests if m.kind == "Secret"}
    needed: set[tuple[str, str]] = set()

    def walk(node):
        if isinstance(node, dict):
            ref = node.get("secretKeyRef")
            if ref:
                needed.add((ref["name"], ref["key"]))
            if isinstance(node.get("uriSecret"), dict):
                needed.add((node["uriSecret"]["name"], "uri"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for m in manifests:
        if m.kind in WORKLOAD_KINDS or m.doc.get("apiVersion", "").startswith("rabbitmq.com/"):
            walk(m.doc)
    created = SECRETS.get(namespace, {})
    missing = [(name, key) for name, key in sorted(needed) if name not in own and key not in created.get(name, {})]
    assert not missing, f"{release}: the guide creates no Secret key for {missing} in {namespace}"


@pytest.mark.parametrize("namespace", sorted(SECRETS))
def test_the_urls_in_the_guides_secrets_are_settings_the_services_accept(namespace):
    for literals in SECRETS[namespace].values():
        for key, value in literals.items():
            if key.endswith("-database-url"):
                assert value.startswith("postgresql://"), value  # plain: the suite picks psycopg2
                Settings(services={key.removesuffix("-database-url"): {"database_url": value}})
            elif key in ("amqp-uri", "uri"):
                Settings(amqp_uri=value)


def test_the_sql_of_step_1_runs_and_creates_the_databases_the_secret_names():
    [sql] = code_blocks("sql")
    statements = [s.strip() for s in sql.split(";") if s.strip()]
    named = {make_url(v).database for k, v in SECRETS["redprop-310101"]["redprop-credentials"].items()
             if k.endswith("-database-url")}
    created = {re.match(r"CREATE DATABASE (\w+)", s).group(1) for s in statements if s.startswith("CREATE DATABASE")}
    assert created == named

    # Run it on the local server under names of this test's own (dropped afterwards).
    unique = f"docs_{uuid.uuid4().hex[:8]}"
    engine = create_engine(DEFAULT_SERVER_URL, isolation_level="AUTOCOMMIT", pool_size=1, max_overflow=0)
    try:
        with engine.connect() as conn:
            for statement in statements:
                conn.execute(text(statement.replace("redprop_310101", unique)))
            found = {row[0] for row in conn.execute(text(
                "SELECT datname FROM pg_database d JOIN pg_roles r ON r.oid = d.datdba WHERE r.rolname = :role"),
                {"role": unique})}
            assert found == {n.replace("redprop_310101", unique) for n in named}
    finally:
        with engine.connect() as conn:
            for name in named:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name.replace("redprop_310101", unique)}" WITH (FORCE)'))
            conn.execute(text(f'DROP ROLE IF EXISTS "{unique}"'))
        engine.dispose()
