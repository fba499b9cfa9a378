"""Plain nameko with its defaults: the service (own process) and nameko's standalone RPC proxy.

Server: ``python -m bench.nameko_defaults AMQP_URI DATABASE_URL`` runs :mod:`bench.plain_service` with
the config nameko needs and nothing else (so ``max_workers`` 10 = prefetch 10, persistent requests and
replies with publisher confirms).

Client (:class:`NamekoClient`): ``ClusterRpcProxy`` from ``nameko.standalone.rpc``; ``call_async`` for
pipelining.
"""

from __future__ import annotations

import argparse
import signal
import warnings

SERVICE = "plain_registry"
QUEUE = f"rpc-{SERVICE}"


class NamekoClient:
    name = "nameko defaults"

    def __init__(self, uri: str, building_ids: list[str]):
        from nameko.standalone.rpc import ClusterRpcProxy

        self.building_ids = building_ids
        self._cluster = ClusterRpcProxy({"AMQP_URI": uri}, timeout=30)
        proxy = self._cluster.start()
        self.method = getattr(proxy, SERVICE).resolve

    def _bid(self, i: int) -> str:
        return self.building_ids[i % len(self.building_ids)]

    def call(self, i: int):
        return self.method(building_id=self._bid(i))

    def send(self, i: int):
        return self.method.call_async(building_id=self._bid(i))

    @staticmethod
    def wait(reply):
        return reply.result()

    def close(self) -> None:
        try:
            self._cluster.stop()
        except Exception:  # noqa: BLE001
            pass


def main() -> None:
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
    import eventlet

    eventlet.monkey_patch()
    from nameko.runners import ServiceRunner

    from bench.plain_service import PlainRegistry
    from redprop.config import Settings

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("uri")
    parser.add_argument("database_url")
    args = parser.parse_args()
    defaults = Settings()
    config = {"AMQP_URI": args.uri, "BENCH_DATABASE_URL": args.database_url,
              "BENCH_DISTRICT": defaults.district, "BENCH_DISTRICT_NAME": defaults.district_name}
    runner = ServiceRunner(config)
    runner.add_service(PlainRegistry)
    runner.start()
    signal.signal(signal.SIGTERM, lambda *_: eventlet.spawn(runner.stop))
    runner.wait()


if __name__ == "__main__":
    main()
