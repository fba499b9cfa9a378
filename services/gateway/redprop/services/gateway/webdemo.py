"""Demo step: the workbench's address and an account for each kind of demo person, to log in with.

The accounts are the sample district's real people (a grid worker, the company's manager, a party
secretary, a housing officer where the sample has one, a resident owner), with passwords made for this
run and printed once; only their hashes are stored, as `redprop gateway accounts add` stores them.
"""

from __future__ import annotations

import secrets

from redprop.errors import Conflict
from redprop.services.gateway import accounts
from redprop.services.gateway.cli import database
from redprop.services.gateway.options import GatewayOptions
from redprop.services.gateway.webapp import dist_dir

#: username -> (what they do, the registry posts any one of which makes them that)
PEOPLE: dict[str, tuple[str, tuple[str, ...]]] = {
    "worker": ("community / grid worker: the inbox", ("community_worker", "grid_head", "grid_member")),
    "company": ("property company dispatcher: their tickets", ("company_manager", "company_staff")),
    "party": ("party committee: the star-rating queue", ("party_secretary", "party_committee_member")),
    "housing": ("housing department officer", ("housing_officer",)),
}


def _person_with(ctx, posts: tuple[str, ...]) -> str | None:
    for post in posts:
        found = ctx.rpc.registry.list(kind="role", role=post, limit=1).items
        if found:
            return found[0].person_id
    return None


def workbench_accounts(ctx) -> None:
    options = GatewayOptions.model_validate(ctx.settings.service("gateway").options)
    base = options.base_url()
    ctx.section("Workbench: the web app for community workers and residents")
    people = {name: _person_with(ctx, posts) for name, (_, posts) in PEOPLE.items()}
    people["resident"] = ctx.rpc.registry.list(kind="household", within="ZQ-YC-B01", limit=1).items[0].owner_ids[0]
    made = []
    with database(ctx.settings) as db:
        for username, person in people.items():
            if person is None:
                continue
            password = secrets.token_urlsafe(9)
            try:
                accounts.add(db, ctx.settings.district, username, person, password)
            except Conflict:  # an earlier run's account: its password was printed then
                password = "(kept from an earlier run)"
            made.append((username, person, password))
    if not (dist_dir() / "index.html").is_file():
        ctx.say("The workbench is not built: run `make web`, then open it.")
    ctx.say(f"Open {base}/app/ (a phone-sized window for the resident) and log in as:")
    for username, person, password in made:
        what = PEOPLE[username][0] if username in PEOPLE else "resident owner: report, follow, confirm and rate"
        ctx.say(f"    {username:<9} {password:<28} {person:<14} {what}")


workbench_accounts.order = 65
workbench_accounts.services = ("registry", "ticketing", "gateway")
