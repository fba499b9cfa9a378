"""The sample district used by ``make demo``, tests and benchmarks: deterministic, modelled on the sources.

"示范区 Demo District" (code 990001, in "示范市 Demo City" 990000) joins two real places from the
source reports under one synthetic district code:

- Dongjing town (洞泾镇, Songjiang, Shanghai), Zhuanqiao residents' area (砖桥居民区): converted from a
  village in 2012; 3 complexes without property certificates, property fees or a maintenance fund,
  managed by a property company the town hires through project subsidies; about 5,700 residents;
  3 micro-grids, each with a building leader, a party-member second building leader and a red
  property specialist; a self-management committee; paired with Songjiang Telecom's eastern-area party
  branch and a kindergarten; enterprises relocating for Metro Line 12 nearby. 嘉和景苑 is named in the
  source; the other two complex names are illustrative.
- Xinshiqu subdistrict (新市区街道, Yumen, Gansu): 8 communities, 18,819 households, 49,384 residents,
  104 grids. Tierenlu community's Tianhao complex (天昊小区: 19 buildings, 1,062 households, 2,442
  residents) is served by Jiahua Property, whose manager is also secretary of its party branch (a cross
  appointment); Longyuan complex by Century Star Property. Four-level party organisation. Other names
  are illustrative.

People's names, areas and coordinates are generated; nothing here describes real residents.
"""

from __future__ import annotations

import csv
import json
import random
from datetime import date
from decimal import Decimal
from pathlib import Path

DISTRICT = "990001"
CITY = "990000"
SEED = 20261122

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉萍红娥玲建国志强海燕春梅文博子涵浩然欣怡宇轩梓萱俊杰"

XINSHIQU_COMMUNITIES = [
    ("TRL", "铁人路社区 Tierenlu"), ("YC", "油城社区 Youcheng"), ("SYL", "石油路社区 Shiyoulu"),
    ("YY", "玉苑社区 Yuyuan"), ("HP", "和平社区 Heping"), ("XH", "新华社区 Xinhua"),
    ("JS", "建设社区 Jianshe"), ("CF", "春风社区 Chunfeng"),
]
XINSHIQU_HOUSEHOLDS = 18_819
XINSHIQU_RESIDENTS = 49_384
XINSHIQU_GRIDS = 104
ZHUANQIAO_RESIDENTS = 5_700


class _Builder:
    def __init__(self):
        self.rng = random.Random(SEED)
        self.data: dict[str, list[dict]] = {k: [] for k in (
            "regions", "organisations", "complexes", "grids", "buildings", "people", "households", "roles", "reports")}
        self._person_no = 0

    def add(self, section: str, **record) -> dict:
        record = {k: v for k, v in record.items() if v is not None}
        self.data[section].append(record)
        return record

    def person(self, party_member: bool = False, prefix: str = "P") -> str:
        self._person_no += 1
        pid = f"{prefix}{self._person_no:06d}"
        name = self.rng.choice(SURNAMES) + "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2))))
        self.add("people", id=pid, name=name, party_member=party_member)
        return pid

    def role(self, person_id: str, role: str, organisation_id=None, scope_id=None, start=date(2024, 1, 1)) -> None:
        self.add("roles", id=f"R{len(self.data['roles']) + 1:06d}", person_id=person_id, role=role,
                 organisation_id=organisation_id, scope_id=scope_id, term_start=start.isoformat())

    def area(self) -> str:
        return str(Decimal(self.rng.uniform(45, 140)).quantize(Decimal("0.01")))

    def households(self, complex_id: str, building_ids: list[str], count: int, residents_total: int,
                   area_source: str = "register") -> None:
        """Spread ``count`` households over the buildings, with residents summing exactly to the total.
        ``area_source``: where their areas come from (Interpretation Art. 8)."""
        per_building = [count // len(building_ids)] * len(building_ids)
        for i in range(count % len(building_ids)):
            per_building[i] += 1
        residents = [1] * count
        for _ in range(residents_total - count):
            residents[self.rng.randrange(count)] += 1
        n = 0
        for building_id, units in zip(building_ids, per_building, strict=True):
            for k in range(units):
                owners = [self.person()]
                if self.rng.random() < 0.3:
                    owners.append(self.person())
                floor, room = divmod(k, 4)
                self.add("households", id=f"{building_id}-H{k + 1:03d}", building_id=building_id,
                         unit=f"{floor + 1}{room + 1:02d}", area_m2=self.area(), area_source=area_source,
                         owner_ids=owners, residents=residents[n])
                n += 1

    def buildings(self, complex_id: str, grid_ids: list[str], count: int, lat: float, lon: float) -> list[str]:
        ids = []
        for i in range(count):
            bid = f"{complex_id}-B{i + 1:02d}"
            self.add("buildings", id=bid, name=f"{i + 1}号楼", complex_id=complex_id,
                     grid_id=grid_ids[i * len(grid_ids) // count], floors=self.rng.choice((6, 6, 7, 11, 18)),
                     lat=round(lat + (i // 6) * 0.0006, 6), lon=round(lon + (i % 6) * 0.0007, 6))
            ids.append(bid)
        return ids


def _structure_top(b: _Builder) -> None:
    b.add("regions", id=CITY, level="city", name="示范市 Demo City")
    b.add("regions", id=DISTRICT, level="district", name="示范区 Demo District", parent_id=CITY)
    for fn, name in (("housing", "区住房和城乡建设局 Housing Bureau"), ("power", "区供电公司 Power Supply"),
                     ("water", "区自来水公司 Water Supply"), ("gas", "区燃气公司 Gas Supply"),
                     ("heating", "区热力公司 Heating Company"), ("urban_management", "区城市管理局 Urban Management")):
        b.add("organisations", id=f"DEP-{fn.upper()}", org_kind="department", name=name, department_function=fn)


def _zhuanqiao(b: _Builder) -> None:
    b.add("regions", id="DJ", level="town", name="洞泾镇 Dongjing Town", parent_id=DISTRICT, lat=31.0835, lon=121.2565)
    b.add("regions", id="ZQ", level="community", name="砖桥居民区 Zhuanqiao", parent_id="DJ", lat=31.0872, lon=121.2611)
    b.add("organisations", id="ZQ-PARTY", org_kind="community_party_committee", name="砖桥居民区党支部 Zhuanqiao Party Branch", scope_id="ZQ")
    b.add("organisations", id="ZQ-PROP", org_kind="property_company", name="洞泾项目物业 Dongjing Project Property (town-subsidised)",
          scope_id="DJ")
    b.add("organisations", id="DJ-POLICE", org_kind="department", department_function="police", name="洞泾派出所 Dongjing Police Station", scope_id="DJ")
    b.add("organisations", id="ZQ-TELECOM", org_kind="paired_unit", name="松江电信东部片区党支部 Songjiang Telecom East Party Branch")
    b.add("organisations", id="ZQ-KINDER", org_kind="paired_unit", name="洞泾幼儿园 Dongjing Kindergarten")
    b.add("organisations", id="ZQ-VOL", org_kind="volunteer_team", name="砖心砖意志愿服务队 'Brick Heart' Volunteers", scope_id="ZQ")
    for eid, name, lat, lon, leaves in (
            ("ENT-NURSERY", "绿源苗木场 Lüyuan Nursery (Metro Line 12 relocation)", 31.0901, 121.2652, "2027-01-31"),
            ("ENT-FURNITURE", "佳居家具厂 Jiaju Furniture (Metro Line 12 relocation)", 31.0890, 121.2580, "2027-02-28"),
            ("ENT-STONE", "洞泾石材加工厂 Dongjing Stone Works (Metro Line 12 relocation)", 31.0850, 121.2700, "2027-03-31"),
            ("ENT-LOGISTICS", "沪松物流 Husong Logistics (Metro Line 12 relocation)", 31.0815, 121.2630, "2027-01-15")):
        b.add("organisations", id=eid, org_kind="enterprise", name=name, lat=lat, lon=lon, relocation_date=leaves, scope_id="DJ")
    complexes = [("ZQ-JHJY", "嘉和景苑 Jiahe Jingyuan", 900, 2330, 31.0868, 121.2598, 2012),
                 ("ZQ-YC", "砖桥一村 Zhuanqiao Yicun", 700, 1815, 31.0880, 121.2630, 2010),
                 ("ZQ-EC", "砖桥二村 Zhuanqiao Ercun", 600, 1555, 31.0855, 121.2645, 2011)]
    for n, (cid, name, households, residents, lat, lon, year) in enumerate(complexes, 1):
        b.add("complexes", id=cid, name=name, community_id="ZQ", year_built=year, has_property_certificate=False,
              has_property_fee=False, has_maintenance_fund=False, property_company_id="ZQ-PROP", lat=lat, lon=lon)
        grid = f"ZQ-G{n}"
        b.add("grids", id=grid, name=f"砖桥微网格{n} Zhuanqiao micro-grid {n}", community_id="ZQ", complex_id=cid, micro=True)
        building_ids = b.buildings(cid, [grid], households // 25, lat, lon)
        # No property certificates (无产证): nothing is in the real-estate register, so the areas are the ones
        # in the purchase (resettlement) contracts, Interpretation Art. 8.
        b.households(cid, building_ids, households, residents, area_source="contract")
        # The grid service team: building leader + party-member second building leader + specialist.
        b.role(b.person(), "building_leader", scope_id=grid)
        b.role(b.person(party_member=True), "second_building_leader", scope_id=grid)
        b.role(b.person(party_member=True), "red_property_specialist", organisation_id="ZQ-PARTY", scope_id=grid)
        group = f"{grid}-PG"
        b.add("organisations", id=group, org_kind="grid_party_group", name=f"微网格{n}党小组", parent_id="ZQ-PARTY", scope_id=grid)
        b.add("organisations", id=f"{grid}-PMH", org_kind="party_member_household", name=f"微网格{n}党员中心户",
              parent_id=group, scope_id=building_ids[0])
        # A self-management committee of 5 residents, 2 of them party members.
        committee = f"{cid}-SMC"
        b.add("organisations", id=committee, org_kind="self_management_committee", name=f"{name.split()[0]}自管会", scope_id=cid)
        for k in range(5):
            b.role(b.person(party_member=k < 2), "committee_chair" if k == 0 else "committee_member",
                   organisation_id=committee, scope_id=cid)
    secretary = b.person(party_member=True)
    b.role(secretary, "party_secretary", organisation_id="ZQ-PARTY", scope_id="ZQ")
    b.role(secretary, "committee_member", organisation_id="ZQ-JHJY-SMC", scope_id="ZQ-JHJY")  # cross appointment
    b.role(b.person(party_member=True), "company_manager", organisation_id="ZQ-PROP", scope_id="ZQ")
    b.role(b.person(), "mediator", scope_id="ZQ")


def _xinshiqu(b: _Builder) -> None:
    rng = b.rng
    b.add("regions", id="XSQ", level="subdistrict", name="新市区街道 Xinshiqu Subdistrict", parent_id=DISTRICT, lat=40.2880, lon=97.0450)
    for oid, name in (("XSQ-COURT", "新市区人民法庭 People's Tribunal"), ("XSQ-PROCURATORATE", "检察室 Procuratorate Office")):
        b.add("organisations", id=oid, org_kind="public_body", name=name, scope_id="XSQ")
    b.add("organisations", id="XSQ-POLICE", org_kind="department", department_function="police", name="新市区派出所 Police Station", scope_id="XSQ")
    # "Three officials, two heads, two members": a judge, a prosecutor and a police officer serve the subdistrict.
    b.role(b.person(party_member=True), "judge", organisation_id="XSQ-COURT", scope_id="XSQ")
    b.role(b.person(party_member=True), "prosecutor", organisation_id="XSQ-PROCURATORATE", scope_id="XSQ")
    b.role(b.person(), "police_officer", organisation_id="XSQ-POLICE", scope_id="XSQ")
    companies = []
    for k in range(17):
        cid = f"XSQ-PC{k + 1:02d}"
        name = {0: "嘉华物业 Jiahua Property", 1: "世纪之星物业 Century Star Property"}.get(k, f"玉门物业{k + 1:02d} Yumen Property {k + 1:02d}")
        b.add("organisations", id=cid, org_kind="property_company", name=name, has_party_branch=True, scope_id="XSQ")
        companies.append(cid)
    # Split households and residents over communities, complexes and grids, matching the source totals.
    hh_left, res_left, grids_left = XINSHIQU_HOUSEHOLDS, XINSHIQU_RESIDENTS, XINSHIQU_GRIDS
    three_no_left = 6
    for ci, (code, cname) in enumerate(XINSHIQU_COMMUNITIES):
        community = f"XSQ-{code}"
        lat0, lon0 = 40.2800 + (ci // 4) * 0.012, 97.0300 + (ci % 4) * 0.014
        b.add("regions", id=community, level="community", name=cname, parent_id="XSQ", lat=lat0, lon=lon0)
        party = f"{community}-PARTY"
        b.add("organisations", id=party, org_kind="community_party_committee", name=f"{cname.split()[0]}党委", scope_id=community)
        b.add("organisations", id=f"{community}-RC", org_kind="residents_committee", name=f"{cname.split()[0]}居委会", scope_id=community)
        remaining_communities = len(XINSHIQU_COMMUNITIES) - ci
        hh = hh_left // remaining_communities
        res = res_left // remaining_communities
        grid_count = grids_left // remaining_communities
        hh_left, res_left, grids_left = hh_left - hh, res_left - res, grids_left - grid_count
        grid_ids = [f"{community}-G{g + 1:02d}" for g in range(grid_count)]
        for g, gid in enumerate(grid_ids):
            b.add("grids", id=gid, name=f"{cname.split()[0]}第{g + 1}网格", community_id=community)
            b.role(b.person(party_member=True), "grid_head", scope_id=gid)
            b.role(b.person(), "grid_member", scope_id=gid)
            b.role(b.person(party_member=True), "red_property_specialist", organisation_id=party, scope_id=gid)
            b.add("organisations", id=f"{gid}-PG", org_kind="grid_party_group", name=f"第{g + 1}网格党小组", parent_id=party, scope_id=gid)
        if code == "TRL":
            plan = [("XSQ-TRL-TH", "天昊小区 Tianhao", 1062, 2442, 19, companies[0], 2008),
                    ("XSQ-TRL-LY", "龙源小区 Longyuan", 0, 0, 0, companies[1], 2005)]
            rest_hh, rest_res = hh - 1062, res - 2442
            plan[1] = (*plan[1][:2], rest_hh // 2, rest_res // 2, max(1, rest_hh // 2 // 56), companies[1], 2005)
            plan.append(("XSQ-TRL-C3", "铁人路三区 Tierenlu Block 3", rest_hh - rest_hh // 2, rest_res - rest_res // 2,
                         max(1, (rest_hh - rest_hh // 2) // 56), None, 1998))
        else:
            n_cx = 4
            plan = []
            for k in range(n_cx):
                chh = hh // n_cx + (hh % n_cx if k == n_cx - 1 else 0)
                cres = res // n_cx + (res % n_cx if k == n_cx - 1 else 0)
                company = rng.choice(companies[2:]) if not (k == n_cx - 1 and three_no_left > 0) else None
                plan.append((f"{community}-C{k + 1}", f"{cname.split()[0][:-2]}{k + 1}区 Block {k + 1}",
                             chh, cres, max(1, chh // 56), company, rng.randint(1985, 2015)))
            three_no_left -= 1
        per_grid = max(1, len(grid_ids) // len(plan))
        for k, (cxid, name, chh, cres, nb, company, year) in enumerate(plan):
            lat, lon = lat0 + k * 0.003, lon0 + (k % 2) * 0.004
            b.add("complexes", id=cxid, name=name, community_id=community, year_built=year,
                  has_property_certificate=True, has_property_fee=company is not None,
                  has_maintenance_fund=company is not None, property_company_id=company, lat=lat, lon=lon)
            cx_grids = grid_ids[k * per_grid:(k + 1) * per_grid] if k < len(plan) - 1 else grid_ids[k * per_grid:]
            building_ids = b.buildings(cxid, cx_grids or grid_ids[-1:], nb, lat, lon)
            b.households(cxid, building_ids, chh, cres)
            for bid in building_ids:
                b.role(b.person(), "building_leader", scope_id=bid)
            if company in companies[:2]:
                branch = f"{company}-PB"
                b.add("organisations", id=branch, org_kind="company_party_branch", name=f"{name.split()[0]}物业党支部",
                      parent_id=party, scope_id=cxid)
                b.add("organisations", id=f"{cxid}-PB", org_kind="complex_party_branch", name=f"{name.split()[0]}党支部",
                      parent_id=party, scope_id=cxid)
                b.add("organisations", id=f"{cxid}-OC", org_kind="owners_committee", name=f"{name.split()[0]}业委会", scope_id=cxid)
                manager = b.person(party_member=True)
                b.role(manager, "company_manager", organisation_id=company, scope_id=cxid)
                b.role(manager, "party_secretary", organisation_id=branch, scope_id=cxid)  # 交叉任职
        # In-service party members and public bodies reporting (报到) to the community.
        for _ in range(25):
            b.add("reports", id=f"RPT{len(b.data['reports']) + 1:05d}", reporter_id=b.person(party_member=True),
                  community_id=community, reported_on="2026-03-01")


#: The officials the demo stories act as (redprop.authz checks every actor against these posts).
DATA_OFFICER, OPERATOR, DISTRICT_OFFICER, HOUSING_OFFICER = "OFF-DATA", "OFF-OPS", "OFF-DISTRICT", "OFF-HOUSING"


def community_worker(community_id: str) -> str:
    return f"CW-{community_id}"


def company_manager(company_id: str) -> str:
    """The manager of a company the sample gives none at random: ``MGR-<company>``."""
    return f"MGR-{company_id}"


def company_staff(company_id: str) -> str:
    """The staff member on duty of every company (who accepts and resolves its tickets in the demo)."""
    return f"STAFF-{company_id}"


def department_contact(department_id: str) -> str:
    return f"DC-{department_id}"


def _officials(b: _Builder) -> None:
    """A community worker per community, an officer per town or subdistrict, a contact per department, a
    staff member of each company and a manager for each without one, the district's, data and housing
    officers and the operator.
    Fixed ids and names (no random draws): the rest of the sample stays as it was."""
    def official(pid: str, name: str, role: str, **where) -> None:
        b.add("people", id=pid, name=name, party_member=False)
        b.role(pid, role, **where)

    for region in list(b.data["regions"]):
        if region["level"] == "community":
            official(community_worker(region["id"]), f"社区工作者 {region['name'].split()[0]}", "community_worker",
                     scope_id=region["id"])
        elif region["level"] in ("town", "subdistrict"):
            official(f"SD-{region['id']}", f"街镇干部 {region['name'].split()[0]}", "subdistrict_officer",
                     scope_id=region["id"])
    managed = {r["organisation_id"] for r in b.data["roles"] if r["role"] == "company_manager"}
    for org in list(b.data["organisations"]):
        if org["org_kind"] == "property_company":
            official(company_staff(org["id"]), f"物业值班员 {org['name'].split()[0]}", "company_staff",
                     organisation_id=org["id"])
            if org["id"] not in managed:
                official(company_manager(org["id"]), f"物业经理 {org['name'].split()[0]}", "company_manager",
                         organisation_id=org["id"])
        elif org["org_kind"] == "department":
            official(department_contact(org["id"]), f"联络员 {org['name'].split()[0]}", "department_contact",
                     organisation_id=org["id"])
    official(HOUSING_OFFICER, "房管科长 Housing officer", "housing_officer", organisation_id="DEP-HOUSING")
    official(DISTRICT_OFFICER, "区党建服务中心 District officer", "district_officer", scope_id=DISTRICT)
    official(DATA_OFFICER, "数据专员 Data officer", "data_officer", scope_id=DISTRICT)
    official(OPERATOR, "运维值班 Operator", "operator", scope_id=DISTRICT)


def build_sample() -> dict:
    """The sample district as a dataset (``redprop.registry/1``), the same on every run."""
    b = _Builder()
    _structure_top(b)
    _zhuanqiao(b)
    _xinshiqu(b)
    _officials(b)
    return {"format": "redprop.registry/1", "district": DISTRICT, **b.data}


def write_sample(out_dir: Path) -> list[Path]:
    """Write the sample as a JSON dataset (structure) plus people.csv and households.csv."""
    data = build_sample()
    out_dir.mkdir(parents=True, exist_ok=True)
    big = {"people": data.pop("people"), "households": data.pop("households")}
    structure = out_dir / "structure.json"
    structure.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    paths = [structure]
    columns = {"people": ["id", "name", "party_member"],
               "households": ["id", "building_id", "unit", "area_m2", "area_source", "owner_ids", "residents"]}
    for section, rows in big.items():
        path = out_dir / f"{section}.csv"
        with path.open("w", encoding="utf-8", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=columns[section])
            writer.writeheader()
            for row in rows:
                writer.writerow({**row, **({"owner_ids": ";".join(row["owner_ids"])} if "owner_ids" in row else {})})
        paths.append(path)
    return paths
