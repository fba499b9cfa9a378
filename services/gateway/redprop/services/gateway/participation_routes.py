"""Participation on the gateway: a resident's own points and turns, a community's public board (JSON and a
plain HTML page), and the community workers' activities and check-ins.

The gateway fills in who is acting (``actor``: the caller's registry person) and never a rule: who may
organise in which community, whether the activity has started, are participation's own checks; its
refusals come back as 403, 404 or 422 like any service's.
"""

from __future__ import annotations

from html import escape

from pydantic import Field
from werkzeug.wrappers import Response

from redprop.contracts import participation as participation_c
from redprop.contracts.base import Id
from redprop.errors import PermissionDenied
from redprop.messaging import ServiceRpc
from redprop.services.gateway.auth import HANDLERS, Principal
from redprop.services.gateway.bodies import (
    HttpModel,
    QueryModel,
    derive,
    idempotency_key,
    read_body,
    read_query,
)
from redprop.services.gateway.http import json_response, route

OPS = participation_c.CONTRACT.operations

TurnsQuery = derive("MyTurnsQuery", participation_c.ListTurnsRequest, base=QueryModel, exclude={"person_id"})
BalanceQuery = derive("MyPointsQuery", participation_c.BalanceRequest, base=QueryModel, exclude={"person_id"})
BoardQuery = derive("BoardQuery", participation_c.BoardRequest, base=QueryModel, exclude={"community_id"})
ActivitiesQuery = derive("ActivitiesQuery", participation_c.ListActivitiesRequest, base=QueryModel)
# ends_at after starts_at is the contract's rule (a model validator): a body breaking it is a 422 naming it.
CreateActivityBody = derive("CreateActivityBody", participation_c.CreateActivityRequest)


class CheckInBody(HttpModel):
    """The person the organiser checks in."""

    person_id: Id = Field(description="The registry person checked in.")


def caller_person(principal: Principal) -> str:
    """The registry person the caller is: a session's or JWT's person, a key's holder, or the subject of a
    resident's or worker's key (a person id). A company's key without a holder is nobody's."""
    if principal.person_id is not None:
        return principal.person_id
    if principal.role not in HANDLERS:
        return principal.subject
    raise PermissionDenied("this key acts for an organisation, not a person", {"role": principal.role})


def _dump(reply) -> dict:
    return reply.model_dump(mode="json")


def board_page(board: participation_c.BoardReply) -> str:
    """The board as a page for a notice screen or a phone: Chinese first, every value escaped. The contract
    carries no contact details, so none can appear here."""
    posts = {"responsibility": "责任岗", "model": "示范岗", "vanguard": "先锋岗"}
    rows = "".join(
        f"<tr><td>{escape(m.name)}</td><td>{escape('、'.join(posts.get(p, p) for p in m.posts))}</td>"
        f"<td>{escape('；'.join(m.pledges))}</td><td>{escape('；'.join(m.responsibilities))}</td>"
        f"<td>{m.tasks_done}</td><td>{m.turns}</td><td>{m.hours:g}</td></tr>" for m in board.members)
    units = "".join(f"<tr><td>{escape(u.name)}</td><td>{escape(u.reported_on.isoformat())}</td>"
                    f"<td>{u.tasks_done}</td><td>{u.hours:g}</td></tr>" for u in board.units)
    title = f"{escape(board.community_name)} 党员公示栏 {board.year}"
    return (f'<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title></head>'
            f"<body><h1>{title}</h1><p>Party members' board of {escape(board.community_name)}, {board.year}</p>"
            f"<h2>党员承诺与岗位 Members, posts and pledges</h2><table><tr><th>姓名 Name</th><th>岗位 Posts</th>"
            f"<th>承诺 Pledges</th><th>责任 Responsibilities</th><th>完成任务 Tasks done</th><th>服务次数 Turns</th>"
            f"<th>服务时长 Hours</th></tr>{rows}</table>"
            f"<h2>报到单位 Reporting units</h2><table><tr><th>名称 Name</th><th>报到日期 Reported on</th>"
            f"<th>完成任务 Tasks done</th><th>服务时长 Hours</th></tr>{units}</table>"
            f"<p>志愿服务 Volunteering: {board.volunteer_turns} 次 turns, {board.volunteer_hours:g} 小时 hours</p>"
            f"</body></html>")


class ParticipationRoutes:
    """Installed on GatewayService."""

    @route("GET", "/api/v1/me/points", "getMyPoints", "The caller's own balance.", tags=("participation",),
           operation=OPS["balance"], permission="participation.read", query=BalanceQuery,
           reply=participation_c.BalanceReply)
    def my_points(self, request, principal):
        query = read_query(request, BalanceQuery).model_dump(exclude_unset=True)
        return json_response(_dump(self.participation.balance(person_id=caller_person(principal), **query)))

    @route("GET", "/api/v1/me/turns", "listMyTurns", "The caller's own turns.", tags=("participation",),
           operation=OPS["list_turns"], permission="participation.read", query=TurnsQuery,
           reply=participation_c.TurnList)
    def my_turns(self, request, principal):
        query = read_query(request, TurnsQuery).model_dump(exclude_unset=True)
        return json_response(_dump(self.participation.list_turns(person_id=caller_person(principal), **query)))

    @route("GET", "/api/v1/communities/{community_id}/board", "getBoard", tags=("participation",),
           operation=OPS["board"], permission="participation.read", query=BoardQuery,
           reply=participation_c.BoardReply)
    def community_board(self, request, principal, community_id):
        query = read_query(request, BoardQuery).model_dump(exclude_unset=True)
        return json_response(_dump(self.participation.board(community_id=community_id, **query)))

    @route("GET", "/boards/{community_id}", "getBoardPage", "The board as a plain HTML page.",
           tags=("participation",), operation=OPS["board"], permission="participation.read", query=BoardQuery,
           media_type="text/html")
    def community_board_page(self, request, principal, community_id):
        query = read_query(request, BoardQuery).model_dump(exclude_unset=True)
        board = self.participation.board(community_id=community_id, **query)
        return Response(board_page(board), mimetype="text/html")

    @route("GET", "/api/v1/activities", "listActivities", "Workers only.", tags=("participation",),
           operation=OPS["list_activities"], permission="activities.read", query=ActivitiesQuery,
           reply=participation_c.ActivityList)
    def list_activities(self, request, principal):
        query = read_query(request, ActivitiesQuery).model_dump(exclude_unset=True)
        return json_response(_dump(self.participation.list_activities(**query)))

    @route("POST", "/api/v1/activities", "createActivity", "The caller is the organiser.",
           tags=("participation",), operation=OPS["create_activity"], permission="activities.organise",
           body=CreateActivityBody, reply=participation_c.ActivityReply, status=201, idempotent_key=True)
    def create_activity(self, request, principal):
        fields = read_body(request, CreateActivityBody).model_dump(mode="json", exclude_unset=True)
        reply = self.participation.create_activity(actor=caller_person(principal),
                                                   request_id=idempotency_key(request), **fields)
        return json_response(_dump(reply), 201)

    @route("POST", "/api/v1/activities/{activity_id}/check-ins", "checkIn", "The caller is the organiser.",
           tags=("participation",), operation=OPS["check_in"], permission="activities.organise",
           body=CheckInBody, reply=participation_c.AttendanceReply, idempotent_key=True)
    def check_in(self, request, principal, activity_id):
        body = read_body(request, CheckInBody)
        reply = self.participation.check_in(actor=caller_person(principal), activity_id=activity_id,
                                            person_id=body.person_id, request_id=idempotency_key(request))
        return json_response(_dump(reply))


def install(service_cls: type) -> None:
    """Add the proxy and these entrypoints to the gateway's class (after its own, as the workbench's)."""
    service_cls.participation = ServiceRpc("participation")
    for name, member in vars(ParticipationRoutes).items():
        if callable(member) and not name.startswith("_"):
            setattr(service_cls, name, member)
