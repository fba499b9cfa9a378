"""Every service's migrations build exactly the schema its models declare.

A model changed without a migration (a new column, a new index) would work in the tests, which create
tables from the models, and fail on the first upgrade of a real district. On PostgreSQL and SQLite.
"""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from redprop.db.engine import build_engine
from redprop.db.migrate import _messaging_metadata, database_of, has_database, upgrade
from redprop.plugins import installed_services, load_service

pytestmark = pytest.mark.integration

SERVICES = [name for name in sorted(installed_services()) if has_database(load_service(name))]


def test_the_services_with_a_database_are_all_checked():
    assert {"registry", "ticketing", "mediation", "evaluation", "matching"} <= set(SERVICES)


@pytest.mark.parametrize("name", SERVICES)
def test_migrations_match_the_models(name, make_settings, backend):
    service_cls = load_service(name)
    settings = make_settings([name], backend)
    upgrade(service_cls, settings)
    engine = build_engine(settings.database_url(name))
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = compare_metadata(context, [database_of(service_cls).metadata, _messaging_metadata()])
    finally:
        engine.dispose()
    assert diffs == [], f"{name}: the models and the migrations differ; write one with `redprop migrate {name} --autogenerate MESSAGE`"
