#!/usr/bin/env bash
# RabbitMQ 4 of the tests' own, beside (never touching) the machine's broker (Debian 12: 3.10.8):
#   scripts/rabbitmq4.sh fetch DIR    # trixie's rabbitmq-server 4.x + Erlang 27 (.deb, pinned in
#                                     # scripts/rabbitmq4.lock, SHA-256 checked), unpacked under DIR/root
#   scripts/rabbitmq4.sh start DIR    # a node of its own: name, free ports, data under DIR/node, management
#   scripts/rabbitmq4.sh ctl DIR ARGS # rabbitmqctl against it (e.g. `ctl DIR status`)
#   scripts/rabbitmq4.sh stop DIR
#   scripts/rabbitmq4.sh env DIR      # the environment lines the node runs with (for the test fixtures)
# Nothing is installed system-wide: the packages are unpacked with dpkg-deb -x. Erlang 27 from trixie needs
# glibc >= 2.38 and OpenSSL >= 3.4 (bookworm has 2.36 and 3.0), so trixie's libc6 and libssl3t64 come too
# and the Erlang binaries that need them run under trixie's dynamic loader (wrappers written by `fetch`).
# REDPROP_TEST_RABBITMQ=4 REDPROP_TEST_RABBITMQ4_DIR=DIR makes the pytest fixtures use such a node.
# Debian drops a version from the pool once it is superseded: then point RABBITMQ4_MIRROR at a snapshot
# (https://snapshot.debian.org/archive/debian/<stamp>) or pin the new versions in the lock.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
lock="$here/rabbitmq4.lock"
mirror="${RABBITMQ4_MIRROR:-http://deb.debian.org/debian}"

usage() { echo "usage: $0 fetch|start|ctl|stop|env DIR [ARGS]" >&2; exit 2; }
[ $# -ge 2 ] || usage
cmd="$1"; dir="$(mkdir -p "$2" && cd "$2" && pwd)"; shift 2
root="$dir/root"; node="$dir/node"
libs="$root/usr/lib/x86_64-linux-gnu"

fetch() {
  mkdir -p "$dir/debs"
  local stamp; stamp="$(sha256sum "$lock" | cut -d' ' -f1)"
  if [ -f "$root/.complete" ] && [ "$(cat "$root/.complete")" = "$stamp" ]; then
    echo "RabbitMQ 4 already unpacked in $root"; return
  fi
  grep -v '^#' "$lock" | while read -r pkg version sha path; do
    [ -n "$pkg" ] || continue
    local deb="$dir/debs/$(basename "$path")"
    if [ ! -f "$deb" ] || ! echo "$sha  $deb" | sha256sum -c --quiet - 2>/dev/null; then
      curl -fsSL --retry 3 -o "$deb.part" "$mirror/$path"
      mv "$deb.part" "$deb"
    fi
    echo "$sha  $deb" | sha256sum -c --quiet - || { echo "SHA-256 mismatch: $deb" >&2; exit 1; }
    local got; got="$(dpkg-deb -f "$deb" Package) $(dpkg-deb -f "$deb" Version)"
    [ "$got" = "$pkg $version" ] || { echo "$deb is '$got', the lock says '$pkg $version'" >&2; exit 1; }
  done
  rm -rf "$root"; mkdir -p "$root"
  for deb in "$dir"/debs/*.deb; do dpkg-deb -x "$deb" "$root"; done
  # Debian's erl scripts name /usr/lib/erlang outright: point them at the unpacked copy.
  sed -i "s|ROOTDIR=/usr/lib/erlang|ROOTDIR=$root/usr/lib/erlang|" "$root"/usr/lib/erlang/bin/erl "$root"/usr/lib/erlang/bin/start \
    "$root"/usr/lib/erlang/erts-*/bin/erl "$root"/usr/lib/erlang/erts-*/bin/start
  # Every Erlang binary that needs a newer glibc than the machine's runs under trixie's loader, with trixie's
  # libc and libcrypto first and the machine's libraries (libstdc++, libtinfo, zlib, libsystemd) after.
  # (erlexec, dyn_erl and escript need only glibc 2.34 and find their files from their own path: they stay.)
  local bin
  for bin in "$root"/usr/lib/erlang/erts-*/bin/* "$root"/usr/lib/erlang/lib/*/priv/bin/*; do
    case "$(basename "$bin")" in erlexec|dyn_erl|escript|yielding_c_fun) continue ;; esac
    [ -f "$bin" ] && [ ! -L "$bin" ] && [ "$(head -c 4 "$bin" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
    mv "$bin" "$bin.real"
    printf '#!/bin/sh\nexec "%s/ld-linux-x86-64.so.2" --library-path "%s:/usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu" --argv0 "$0" "$0.real" "$@"\n' \
      "$libs" "$libs" > "$bin"
    chmod 755 "$bin"
  done
  # The check that Erlang 27 runs here: the VM boots, reports its release, and loads crypto (OpenSSL).
  local otp
  otp="$(PATH="$root/usr/lib/erlang/bin:$PATH" ERL_ROOTDIR="$root/usr/lib/erlang" erl -noshell -eval \
    'io:format("~s ~s", [erlang:system_info(otp_release), element(3, hd(crypto:info_lib()))]), halt().')"
  echo "$stamp" > "$root/.complete"
  echo "RabbitMQ $(ls "$root/usr/lib/rabbitmq/lib" | sed 's/rabbitmq_server-//') unpacked in $root (Erlang/OTP ${otp})"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# The node's environment: written once by `start` (so a restart keeps its name, ports and data).
env_lines() {
  [ -f "$root/.complete" ] || { echo "not fetched: run $0 fetch $dir" >&2; exit 1; }
  if [ ! -f "$node/env" ]; then
    mkdir -p "$node"
    local port mport dport; port="$(free_port)"; mport="$(free_port)"; dport="$(free_port)"
    printf 'listeners.tcp.default = 127.0.0.1:%s\nmanagement.tcp.ip = 127.0.0.1\nmanagement.tcp.port = %s\n' \
      "$port" "$mport" > "$node/rabbitmq.conf"
    echo "[rabbitmq_management]." > "$node/enabled_plugins"
    cat > "$node/env" <<EOF
PATH=$root/usr/lib/erlang/bin:/usr/bin:/bin
ERL_ROOTDIR=$root/usr/lib/erlang
HOME=$node
RABBITMQ_NODENAME=redprop-rmq4-$port@localhost
RABBITMQ_NODE_PORT=$port
RABBITMQ_DIST_PORT=$dport
RABBITMQ_MANAGEMENT_PORT=$mport
RABBITMQ_CONFIG_FILE=$node/rabbitmq.conf
RABBITMQ_ENABLED_PLUGINS_FILE=$node/enabled_plugins
RABBITMQ_MNESIA_BASE=$node/mnesia
RABBITMQ_LOG_BASE=$node/log
RABBITMQ_PID_FILE=$node/node.pid
RABBITMQ_CONF_ENV_FILE=$node/rabbitmq-env.conf
EOF
  fi
  cat "$node/env"
}

# Run with exactly the node's environment (the machine's rabbitmq-env.conf names the shared node).
in_env() { local -a vars; mapfile -t vars < <(env_lines); env -i "${vars[@]}" "$@"; }
sbin() { echo "$root/usr/lib/rabbitmq/bin/$1"; }

case "$cmd" in
  fetch) fetch ;;
  env) env_lines ;;
  start)
    in_env true
    port="$(sed -n 's/^RABBITMQ_NODE_PORT=//p' "$node/env")"; mport="$(sed -n 's/^RABBITMQ_MANAGEMENT_PORT=//p' "$node/env")"
    # exec: no shell stays behind holding the caller's stdout (a pipe would then never close).
    mapfile -t vars < <(env_lines)
    (cd "$node" && exec env -i "${vars[@]}" setsid "$(sbin rabbitmq-server)" >> "$node/console.log" 2>&1 < /dev/null) &
    in_env "$(sbin rabbitmqctl)" -q wait --timeout 120 "$node/node.pid" >/dev/null
    in_env "$(sbin rabbitmqctl)" -q await_startup --timeout 120 >/dev/null
    for _ in $(seq 1 120); do
      curl -fs -u guest:guest "http://127.0.0.1:$mport/api/overview" >/dev/null && break; sleep 0.5
    done
    echo "RabbitMQ $(in_env "$(sbin rabbitmqctl)" -q version) running as $(sed -n 's/^RABBITMQ_NODENAME=//p' "$node/env")"
    echo "REDPROP_AMQP_URI=amqp://guest:guest@127.0.0.1:$port/%2F"
    echo "management: http://127.0.0.1:$mport/" ;;
  ctl) in_env "$(sbin rabbitmqctl)" "$@" ;;
  stop)
    if [ -f "$node/node.pid" ]; then
      in_env "$(sbin rabbitmqctl)" -q stop "$node/node.pid"
    else
      echo "not running (no $node/node.pid)"
    fi ;;
  *) usage ;;
esac
