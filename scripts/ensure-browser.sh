#!/usr/bin/env bash
# Debian's headless Chromium (and CJK fonts for the screenshots) for the workbench's browser tests.
# The tests drive /usr/bin/chromium with playwright-core (no browser download); REDPROP_CHROMIUM overrides.
set -euo pipefail
browser="${REDPROP_CHROMIUM:-/usr/bin/chromium}"
fonts="$(fc-list : family 2>/dev/null || true)"  # read whole: grep -q closing the pipe would fail pipefail
if [ -x "$browser" ] && grep -qi "cjk" <<<"$fonts"; then
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "ensure-browser: $browser or CJK fonts missing; install them as root: apt-get install chromium fonts-noto-cjk" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq chromium fonts-noto-cjk >/dev/null
"$browser" --version
