#!/usr/bin/env bash
# Debian's Chromium for the review pages' browser tests (Playwright's own browser download does
# not work here). Installs it with apt-get when /usr/bin/chromium is missing.
set -euo pipefail
[ -x /usr/bin/chromium ] && exit 0
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
echo "chromium.sh: installing chromium with apt-get" >&2
as_root apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends chromium >&2
