#!/usr/bin/env bash
# A single-node SLURM (Debian's slurm-wlm packages: munge + slurmctld + slurmd on localhost) for
# testing `abm sweep` with `engine.kind: slurm` end to end. Needs root and Debian/Ubuntu.
#
#   bash scripts/ci_slurm.sh up       # install (if missing), configure and start; idempotent
#   bash scripts/ci_slurm.sh test     # up, the slow SLURM test (pytest -m slow tests/test_sweep_slurm.py), down
#   bash scripts/ci_slurm.sh down     # stop the daemons started by `up`
#
# Needs .venv (bash scripts/setup.sh test). About 30 s on a fresh Debian 12 machine: apt (10 s),
# daemons (1 s), a 4-run sweep through real sbatch jobs (15 s).
#
# The node advertises one fake GPU (gres gpu:1 backed by /dev/null) so that the job script's
# `#SBATCH --gres=gpu:1` is scheduled; the runs themselves use device: cpu.
set -euo pipefail
cd "$(dirname "$0")/.."
STATE=/var/spool/abm-ci-slurm
CONF=/etc/slurm/slurm.conf

need_root() {
  if [ "$(id -u)" != 0 ]; then echo "ci_slurm.sh: needs root (apt-get, daemons)" >&2; exit 2; fi
}

install() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
     && command -v munged >/dev/null; then
    return
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge >/dev/null
}

configure() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 512 ))
  mkdir -p /etc/slurm "$STATE/ctld" "$STATE/d" /var/log/slurm
  cat > "$CONF" <<EOF
# Written by scripts/ci_slurm.sh: one node, localhost only, for tests.
ClusterName=abmci
SlurmctldHost=${host}(127.0.0.1)
SlurmctldPort=6817
SlurmdPort=6818
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/ctld
SlurmdSpoolDir=$STATE/d
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
GresTypes=gpu
NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${mem} Gres=gpu:1 State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
  cat > /etc/slurm/gres.conf <<EOF
NodeName=${host} Name=gpu File=/dev/null
EOF
}

up() {
  need_root
  install
  configure
  if [ ! -S /run/munge/munge.socket.2 ]; then
    mkdir -p /run/munge && chown munge:munge /run/munge
    runuser -u munge -- /usr/sbin/munged
    touch "$STATE/munged.started"
  fi
  if [ ! -f "$STATE/slurmctld.pid" ] || ! kill -0 "$(cat "$STATE/slurmctld.pid")" 2>/dev/null; then
    /usr/sbin/slurmctld
  fi
  if [ ! -f "$STATE/slurmd.pid" ] || ! kill -0 "$(cat "$STATE/slurmd.pid")" 2>/dev/null; then
    /usr/sbin/slurmd
  fi
  for _ in $(seq 60); do
    if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
      sinfo
      return
    fi
    sleep 1
  done
  echo "ci_slurm.sh: the node did not come up; logs:" >&2
  tail -n 20 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log >&2 || true
  exit 1
}

down() {
  for pidfile in "$STATE/slurmd.pid" "$STATE/slurmctld.pid"; do
    if [ -f "$pidfile" ]; then kill "$(cat "$pidfile")" 2>/dev/null || true; rm -f "$pidfile"; fi
  done
  if [ -f "$STATE/munged.started" ] && [ -f /run/munge/munged.pid ]; then
    kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
    rm -f "$STATE/munged.started"
  fi
}

case "${1:-test}" in
  up) up ;;
  down) down ;;
  test)
    up
    trap down EXIT
    .venv/bin/python -m pytest -q -rs -m slow tests/test_sweep_slurm.py
    ;;
  *) echo "usage: $0 up|test|down" >&2; exit 2 ;;
esac
