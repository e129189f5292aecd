#!/usr/bin/env bash
# The benchmark's peers (nginx, HAProxy) and wrk come from the same installer as the tests' programs.
exec bash "$(dirname "$0")/../scripts/system-packages.sh"
