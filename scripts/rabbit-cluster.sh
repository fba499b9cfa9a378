#!/usr/bin/env bash
# A three-node RabbitMQ cluster on this machine, beside (never touching) the machine's own broker:
#   scripts/rabbit-cluster.sh start DIR     # three nodes with their own names, ports, data under DIR
#   scripts/rabbit-cluster.sh status DIR
#   scripts/rabbit-cluster.sh stop DIR
# `start` prints the REDPROP_AMQP_URI that lists the three addresses. See redprop/testing/cluster.py.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python -m redprop.testing.cluster "$@"
