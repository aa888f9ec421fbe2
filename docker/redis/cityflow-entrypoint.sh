#!/bin/sh
# Adds the settings that come from the environment to the redis-server command line, then
# hands over to the official image's entrypoint (which fixes /data ownership and drops root).
#   REDIS_PASSWORD   when set: requirepass, and protected mode stays on (redis.conf)
#                    when empty: protected mode off, so the app containers can connect;
#                    the server must then stay unreachable from outside the private network
#   REDIS_MAXMEMORY  optional memory cap (e.g. 400mb); with noeviction, writes fail past it
set -eu

if [ "${1:-}" = "redis-server" ]; then
  if [ -n "${REDIS_PASSWORD:-}" ]; then
    set -- "$@" --requirepass "$REDIS_PASSWORD"
  else
    echo "cityflow-redis: REDIS_PASSWORD is empty: protected mode is off so that clients on the private network can connect; do not publish port 6379" >&2
    set -- "$@" --protected-mode no
  fi
  if [ -n "${REDIS_MAXMEMORY:-}" ]; then
    set -- "$@" --maxmemory "$REDIS_MAXMEMORY"
  fi
fi

exec docker-entrypoint.sh "$@"
