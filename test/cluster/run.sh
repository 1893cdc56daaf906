#!/usr/bin/env bash
# npm run test:cluster: the server on a 3-node MariaDB Galera cluster on this machine, with faults
# (test/cluster/checks.ts does the work). Everything lives in one temp folder; the trap stops exactly
# what the checks started, by the PIDs and egg-scripts titles they recorded there, and removes it.
set -uo pipefail
cd "$(dirname "$0")/../.."

if [ ! -f /usr/lib/galera/libgalera_smm.so ] || [ ! -x /usr/sbin/mariadbd ] || ! command -v rsync >/dev/null; then
  echo "SKIP test:cluster: needs mariadb-server, galera-4 and rsync (apt-get install galera-4 rsync); .ci/run installs them"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP test:cluster: run as root (mariadbd drops to the mysql user, which must own the nodes' folders)"
  exit 0
fi

CLUSTER_BASE=$(mktemp -d /tmp/oauth2-cluster.XXXXXX)
chmod 755 "$CLUSTER_BASE"
mkdir -p "$CLUSTER_BASE/pids" "$CLUSTER_BASE/titles"
export CLUSTER_BASE

stop_all() {
  local status=$?
  trap - EXIT INT TERM
  for title_file in "$CLUSTER_BASE"/titles/*; do
    [ -f "$title_file" ] || continue
    npx egg-scripts stop --title="$(cat "$title_file")" >/dev/null 2>&1 || true
  done
  for pid_file in "$CLUSTER_BASE"/pids/*; do
    [ -f "$pid_file" ] || continue
    kill -TERM "$(cat "$pid_file")" 2>/dev/null || true
  done
  for pid_file in "$CLUSTER_BASE"/pids/*; do
    [ -f "$pid_file" ] || continue
    local pid
    pid=$(cat "$pid_file")
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  # `npm run tsc` compiled the app in place for the production hosts.
  npm run clean >/dev/null 2>&1 || true
  rm -rf "$CLUSTER_BASE"
  exit "$status"
}
trap stop_all EXIT INT TERM

npx ts-node --transpile-only test/cluster/checks.ts
