"""Demo step: load the sample district through the import path, then ask the registry about it."""

from __future__ import annotations

import time

from redprop.errors import RedpropError
from redprop.services.registry.cli import import_files, print_report
from redprop.services.registry.sample import write_sample


def sample_district(ctx) -> None:
    ctx.section("Registry: the sample district (Zhuanqiao, Dongjing town + Xinshiqu subdistrict)")
    paths = write_sample(ctx.settings.data_dir / "sample")
    ctx.say("Sample files: " + ", ".join(f"{p.name} ({p.stat().st_size / 1e6:.1f} MB)" for p in paths))
    started = time.monotonic()
    report = import_files(ctx.settings, paths)
    ctx.say(f"Imported in {time.monotonic() - started:.1f} s (validated, one transaction):")
    print_report(report)

    # The running service reloads its map when it sees the new structure version.
    deadline = time.monotonic() + 30
    while True:
        summary = ctx.rpc.registry.summary()
        if summary.structure_version >= report.structure_version or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    ctx.say(f"\nregistry.summary (structure version {summary.structure_version}):")
    ctx.table(["community", "in", "complexes", "grids", "buildings", "households", "residents"],
              [[c.name, c.parent_name, c.complexes, c.grids, c.buildings, f"{c.households:,}", f"{c.residents:,}"]
               for c in summary.communities])

    answer = ctx.rpc.registry.resolve(building_id="ZQ-JHJY-B01")
    ctx.say("\nregistry.resolve building ZQ-JHJY-B01 (嘉和景苑 1号楼):")
    team = ", ".join(f"{m.name} ({m.role})" for m in answer.grid_team.members)
    ctx.table(["", ""], [
        ["complex", f"{answer.complex.name}; certificate: {answer.complex.has_property_certificate}, "
                    f"maintenance fund: {answer.complex.has_maintenance_fund}"],
        ["grid", answer.grid.name], ["community", answer.community.name],
        ["town/subdistrict", answer.subdistrict.name], ["district", answer.district_region.name],
        ["grid service team", team],
        ["property company", answer.property_company.name if answer.property_company else "none"],
        ["committee", answer.committee.name if answer.committee else "none"],
        ["party organisation", answer.party_organisation.name if answer.party_organisation else "none"],
        ["departments", ", ".join(d.name.split()[0] for d in answer.departments)],
    ])
    near = ctx.rpc.registry.resolve(point={"lat": 40.2801, "lon": 97.0301})
    ctx.say(f"\nA resident's pin at (40.2801, 97.0301) resolves to {near.building.name} of {near.complex.name}, "
            f"{near.distance_m} m away, grid {near.grid.name}, company "
            f"{near.property_company.name if near.property_company else 'none'}.")
    cross = ctx.rpc.registry.cross_appointments(limit=3)
    ctx.say(f"\nCross appointments (双向进入、交叉任职): {cross.total} people hold posts in two or more organisations, e.g.")
    for person in cross.people[:3]:
        ctx.say(f"  {person.name}: " + "; ".join(f"{p.role} of {p.organisation_name}" for p in person.posts))
    try:
        ctx.rpc.registry.resolve(building_id="NO-SUCH-BUILDING")
    except RedpropError as exc:
        ctx.say(f"\nBad input gets a typed error: {exc.code}: {exc.message} {exc.details}")
    ctx.hint("registry.resolve '{\"building_id\": \"ZQ-JHJY-B01\"}'")
    ctx.hint("registry.resolve '{\"point\": {\"lat\": 40.2801, \"lon\": 97.0301}}'")
    ctx.hint("registry.summary")


sample_district.order = 10
sample_district.services = ("registry",)
