#!/usr/bin/env bash
# Installs the non-Node tools the benchmark drives, from Debian's packages, only
# when they are missing: apt-get update runs at most once. Needs root.
set -euo pipefail
missing=""
for command in nginx haproxy wrk; do
  # nginx and haproxy live in /usr/sbin, which a non-login PATH may lack.
  command -v "$command" >/dev/null 2>&1 || [ -x "/usr/sbin/$command" ] || missing="$missing $command"
done
if [ -n "$missing" ]; then
  echo "bench: installing$missing"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
fi
