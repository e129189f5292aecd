#!/usr/bin/env bash
# Installs the system programs the tests and benchmarks drive, from Debian's packages, only when they are
# missing: apt-get update runs at most once, and nothing runs when everything is present. `npm test` runs
# this first (as its pretest), so a newcomer and CI install the same things.
#   redis-server  the shared rate-limit store's tests
#   chromium      the visualizer's browser tests (driven by playwright-core)
#   promtool      checks the /metrics output (Debian's prometheus package)
#   nginx haproxy wrk  the benchmark's peers and load generator
#   ss            the benchmark's wait for an empty accept queue before each wrk run (iproute2)
set -euo pipefail
declare -A package_of=(
  [redis-server]=redis-server [chromium]=chromium [promtool]=prometheus
  [nginx]=nginx [haproxy]=haproxy [wrk]=wrk [ss]=iproute2
)
missing=""
for command in "${!package_of[@]}"; do
  # nginx and haproxy live in /usr/sbin, which a non-login PATH may lack.
  command -v "$command" >/dev/null 2>&1 || [ -x "/usr/sbin/$command" ] || missing="$missing ${package_of[$command]}"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system packages missing:$missing (install them with apt-get as root)" >&2
  exit 1
fi
echo "installing system packages:$missing"
apt-get update
DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $missing
