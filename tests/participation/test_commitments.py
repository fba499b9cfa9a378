"""Party members' pledges and posts, tasks for reporting units and in-service members, and the public board
(names, posts, pledges, what was done; never a phone number)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from redprop.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from tests.participation.conftest import (
    IN_SERVICE,
    RESIDENT,
    SECRETARY,
    UNIT,
    WORKER,
    activity,
    rid,
    serve,
    start,
)


def test_pledges_posts_tasks_and_the_board(run_suite, small_district, backend):
    suite = start(run_suite, small_district, backend)
    p = suite.rpc.participation
    year = datetime.now(UTC).year
    pledge = p.pledge(actor=SECRETARY, community_id="C1", complex_id="X1", pledge="亮身份、亮承诺：每周巡楼一次",
                      responsibilities=["楼道安全巡查", "独居老人探访"], request_id=rid("pledge")).pledge
    assert pledge.person_id == SECRETARY and pledge.responsibilities == ["楼道安全巡查", "独居老人探访"]
    post = p.designate_post(actor=SECRETARY, community_id="C1", person_id=SECRETARY, post="vanguard", year=year,
                            criteria="全年服务超过50小时", request_id=rid("post")).designation
    assert post.decided_by == SECRETARY
    with pytest.raises(Conflict):
        p.designate_post(actor=SECRETARY, community_id="C1", person_id=SECRETARY, post="vanguard", year=year,
                         criteria="again", request_id=rid("post"))

    # The telecom branch reported to C1; it takes a task from the demand list and two staff do it.
    task = p.assign_task(actor=WORKER, community_id="C1", assignee_id=UNIT, assignee_kind="unit",
                         title="楼道光纤整理", source="need", source_id="N-7", request_id=rid("task")).task
    assert task.state == "open"
    done = p.complete_task(actor=IN_SERVICE, task_id=task.id, people=[IN_SERVICE, "P3"], hours=2,
                           request_id=rid("done")).task
    assert (done.state, done.hours) == ("done", 4)
    with pytest.raises(Conflict):
        p.complete_task(actor=IN_SERVICE, task_id=task.id, people=[IN_SERVICE], hours=1, request_id=rid("done"))
    unit = p.totals(scope="unit", id=UNIT, period=str(year))
    assert (unit.turns, unit.hours, unit.by_role[0].role) == (2, 4, "unit_staff")
    # An in-service party member who reported takes a task of their own.
    mine = p.assign_task(actor=WORKER, community_id="C1", assignee_id=IN_SERVICE, assignee_kind="member",
                         title="独居老人探访", request_id=rid("task")).task
    p.complete_task(actor=IN_SERVICE, task_id=mine.id, people=[IN_SERVICE], hours=1, request_id=rid("done"))
    serve(suite, activity(suite).id, RESIDENT, 2)

    board = p.board(community_id="C1")
    assert board.community_name == "幸福社区" and board.year == year
    [member] = board.members
    assert (member.person_id, member.name, member.posts, member.pledges) == (
        SECRETARY, "张三", ["vanguard"], ["亮身份、亮承诺：每周巡楼一次"])
    units = {u.id: u for u in board.units}
    assert (units[UNIT].name, units[UNIT].kind, units[UNIT].tasks_done, units[UNIT].hours) == (
        "电信东部片区党支部", "unit", 1, 4)
    assert (units[IN_SERVICE].kind, units[IN_SERVICE].tasks_done, units[IN_SERVICE].hours) == ("member", 1, 3)
    assert (board.volunteer_turns, board.volunteer_hours) == (1, 2)
    # Everyone on it has a phone in the registry; the board shows none of them.
    text = json.dumps(board.model_dump(mode="json"), ensure_ascii=False)
    assert "phone" not in text and "1370000" not in text and "1390000" not in text and "1380000" not in text
    assert p.board(community_id="C1", complex_id="X2").members == []
    assert [t.state for t in p.list_tasks(community_id="C1").tasks] == ["done", "done"]


def test_only_party_members_pledge_and_only_the_committee_designates(run_suite, small_district):
    suite = start(run_suite, small_district)
    p = suite.rpc.participation
    with pytest.raises(PermissionDenied) as exc:  # P2 is not a party member
        p.pledge(actor=RESIDENT, community_id="C1", pledge="我承诺", request_id=rid("pledge"))
    assert exc.value.details["field"] == "actor"
    with pytest.raises(PermissionDenied):  # a community worker is not the party committee
        p.designate_post(actor=WORKER, community_id="C1", person_id=SECRETARY, post="model", year=2026,
                         criteria="示范", request_id=rid("post"))
    with pytest.raises(PermissionDenied):  # a post is for a party member
        p.designate_post(actor=SECRETARY, community_id="C1", person_id=RESIDENT, post="model", year=2026,
                         criteria="示范", request_id=rid("post"))
    with pytest.raises(PermissionDenied):  # a resident hands out no tasks
        p.assign_task(actor=RESIDENT, community_id="C1", assignee_id=UNIT, assignee_kind="unit", title="任务",
                      request_id=rid("task"))
    task = p.assign_task(actor=WORKER, community_id="C1", assignee_id=UNIT, assignee_kind="unit", title="任务",
                         request_id=rid("task")).task
    with pytest.raises(PermissionDenied):  # a resident does not sign a unit's task off
        p.complete_task(actor=RESIDENT, task_id=task.id, people=[RESIDENT], hours=1, request_id=rid("done"))


def test_bad_input_names_the_field(run_suite, small_district):
    suite = start(run_suite, small_district)
    p = suite.rpc.participation
    with pytest.raises(PermissionDenied):  # an unknown person (redprop.authz, against the registry)
        p.pledge(actor="NOBODY", community_id="C1", pledge="我承诺", request_id=rid("pledge"))
    with pytest.raises(ValidationFailed) as exc:
        p.pledge(actor=SECRETARY, community_id="C1", pledge="x", request_id=rid("pledge"))
    assert [f["field"] for f in exc.value.fields] == ["pledge"]
    with pytest.raises(ValidationFailed) as exc:  # P3 never reported to C1 and made no pledge there
        p.assign_task(actor=WORKER, community_id="C1", assignee_id="P3", assignee_kind="member", title="任务",
                      request_id=rid("task"))
    assert [f["field"] for f in exc.value.fields] == ["assignee_id"]
    with pytest.raises(ValidationFailed) as exc:
        p.assign_task(actor=WORKER, community_id="C1", assignee_id=UNIT, assignee_kind="unit", title="任务",
                      source="ticket", request_id=rid("task"))
    assert "source_id" in str(exc.value.fields)
    task = p.assign_task(actor=WORKER, community_id="C1", assignee_id=UNIT, assignee_kind="unit", title="任务",
                         request_id=rid("task")).task
    with pytest.raises(NotFound) as exc:
        p.complete_task(actor=WORKER, task_id=task.id, people=[IN_SERVICE, "GHOST"], hours=1, request_id=rid("d"))
    assert exc.value.details["field"] == "people.1"
    assert p.list_tasks(community_id="C1", state="open").total == 1  # nothing half-written
    with pytest.raises(NotFound) as exc:
        p.board(community_id="NOWHERE")
    assert exc.value.details["field"] == "community_id"
