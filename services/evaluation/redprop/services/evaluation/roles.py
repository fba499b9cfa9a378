"""Event handlers that only one role consumes: ``@role_handler("city", "evaluation", PeriodClosed)``.

The city's instance consumes the districts' federated standings; a handler of the other role declares
no queue and never runs, so a district does not fill a queue with its own ``period_closed`` events.
"""

from __future__ import annotations

from redprop.messaging.events import ContractEventHandler
from redprop.services.evaluation.options import options_of


class RoleEventHandler(ContractEventHandler):
    def __init__(self, role: str, source_service: str, event, **kwargs):
        super().__init__(source_service, event, **kwargs)
        self.role = role
        self.active = False

    def setup(self):
        self.active = options_of(self.container).role == self.role
        if self.active:
            super().setup()

    def stop(self):
        if self.active:
            super().stop()


role_handler = RoleEventHandler.decorator
