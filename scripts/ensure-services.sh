#!/usr/bin/env bash
# Make sure the local servers redprop needs answer, starting any that are down.
#   scripts/ensure-services.sh rabbitmq postgresql
# RabbitMQ also gets the plugins redprop uses: management (demo vhosts, tests), federation and shovel
# (district-to-city event flow). Waits up to 90 s per server.
set -euo pipefail

wait_for() {  # wait_for NAME COMMAND...
    local name=$1; shift
    for _ in $(seq 1 90); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 1
    done
    echo "ensure-services: $name did not come up within 90 s" >&2
    return 1
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

ensure_rabbitmq() {
    if ! rabbitmqctl -q status >/dev/null 2>&1; then
        echo "ensure-services: starting RabbitMQ" >&2
        rabbitmq-server -detached
    fi
    wait_for RabbitMQ rabbitmqctl -q await_startup
    # Idempotent: already-enabled plugins are left alone.
    rabbitmq-plugins enable --quiet rabbitmq_management rabbitmq_federation rabbitmq_shovel \
        rabbitmq_federation_management rabbitmq_shovel_management >/dev/null
    wait_for "RabbitMQ AMQP port" port_open 5672
    wait_for "RabbitMQ management API" port_open 15672
}

ensure_postgresql() {
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        echo "ensure-services: starting PostgreSQL" >&2
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
    fi
    wait_for PostgreSQL pg_isready -q -h 127.0.0.1 -p 5432
}

for service in "$@"; do
    case "$service" in
        rabbitmq) ensure_rabbitmq ;;
        postgresql) ensure_postgresql ;;
        *) echo "ensure-services: unknown service $service" >&2; exit 2 ;;
    esac
done
