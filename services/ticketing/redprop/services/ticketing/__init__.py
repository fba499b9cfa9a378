"""The ticketing service: the three-order service (see service.py for its entrypoints).

  service.py       entrypoints (the contract is redprop.contracts.ticketing)
  options.py       the service's settings (services.ticketing.options)
  catalogue.py     service categories per district
  workcalendar.py  working time on China's statutory calendar (chinese-calendar)
  sla.py           extension point `ticketing.sla_policy`: deadlines per SLA class; a ticket's SLA state
  routing.py       extension point `ticketing.router`: who handles a ticket, at each level of the ladder
  lifecycle.py     the state machine: who may do what, when; each operation returns an Outcome
                   (rows, events, notices, metrics) that service.py settles in one place
  outcome.py       what an operation produces (plain data), and how its rows are written
  guards.py        who may change a ticket, and from which status
  views.py         the ticket record a transition changes, and its contract views
  pricing.py       the repair price list and the emergency repair fund
  duplicates.py    likely duplicates at intake
  sweep.py         the periodic SLA sweep and escalation
  stats.py         the three rates, monthly summaries
  notifiers.py     extension point `ticketing.notifiers`: log and webhook
  models.py        tables (SQLAlchemy Core)
"""
