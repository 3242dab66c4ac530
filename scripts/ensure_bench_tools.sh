#!/usr/bin/env bash
# `make bench` needs wrk (the load generator) and redis-server (the bench starts its own, private one)
# beside the services ensure_services.sh provides. Installs them from Debian's packages where it can.
set -euo pipefail

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} for the benchmarks (Debian packages)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "the benchmarks need ${missing[*]}: install them (Debian: apt-get install ${missing[*]})" >&2
  exit 1
fi
