#!/usr/bin/env bash
# .ci/start_slurm.sh: a one-node SLURM cluster on this machine, for the tests of -profile slurm
# (tests/nextflow/test_run_slurm.py). Debian's slurm-wlm and munge, as root, without systemd:
#   munge key (1,024 random bytes, owner munge, mode 400) -> munged -> /etc/slurm/slurm.conf
#   (one node with this machine's CPUs and most of its memory, partition `cpu` as conf/slurm.config's
#   CPU queue) -> slurmctld, slurmd -> waits for the node to be idle.
# Idempotent: installs what is missing, starts only the daemons that are not running, never stops
# one, and leaves a slurm.conf it did not write alone (refusing to go on if it lacks the `cpu`
# partition). Daemon logs: /var/log/slurm/slurmctld.log, /var/log/slurm/slurmd.log, munged's in
# /var/log/munge/munged.log.
set -euo pipefail

say() { echo "start_slurm.sh: $*" >&2; }
[[ $(id -u) == 0 ]] || { say "must run as root (it installs Debian packages and starts daemons)"; exit 1; }
T0=$SECONDS
CONF=/etc/slurm/slurm.conf
MARK="# written by tfvocab .ci/start_slurm.sh"
NODE=$(hostname -s)
CPUS=$(nproc)
MEM_MB=$(awk '/MemTotal/ {print int($2 / 1024 * 0.85)}' /proc/meminfo)

# 1. packages
missing=()
command -v slurmctld >/dev/null || missing+=(slurm-wlm)
command -v munged >/dev/null || missing+=(munge)
if ((${#missing[@]})); then
    say "installing ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 2. munge
if [[ ! -s /etc/munge/munge.key ]]; then
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "starting munged"
    # it runs as root here (--force below): its log folder must be root's, or it warns it is insecure
    chown root:root /var/log/munge
    # --force: munged refuses to run as root otherwise (no systemd here to start it as munge)
    munged --force
    for _ in $(seq 1 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.2; done
fi

# 3. slurm.conf
if [[ -f "$CONF" ]] && ! head -1 "$CONF" | grep -qF "$MARK"; then
    grep -qE '^PartitionName=cpu\b' "$CONF" \
        || { say "$CONF exists (not written by this script) and has no partition 'cpu': not touching it"; exit 1; }
    say "keeping the existing $CONF"
else
    new=$(cat <<EOF
$MARK: one node, for the pipeline's CI
ClusterName=tfvocab-ci
SlurmctldHost=$NODE(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
JobCompType=jobcomp/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=10
MinJobAge=300
NodeName=$NODE NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=cpu Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
EOF
)
    if [[ ! -f "$CONF" || "$(cat "$CONF")" != "$new" ]]; then
        mkdir -p /etc/slurm && printf '%s\n' "$new" >"$CONF"
        say "wrote $CONF (node $NODE: $CPUS CPUs, $MEM_MB MB; partition cpu)"
    fi
fi
mkdir -p /var/spool/slurmctld /var/spool/slurmd /var/log/slurm

# 4. daemons
if ! pgrep -x slurmctld >/dev/null; then
    say "starting slurmctld"
    slurmctld
fi
for _ in $(seq 1 50); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.2; done
started_slurmd=0
if ! pgrep -x slurmd >/dev/null; then
    say "starting slurmd"
    slurmd
    started_slurmd=1
fi

node_state() { sinfo -h -n "$NODE" -o %T 2>/dev/null | head -1; }
restarted=0
for _ in $(seq 1 150); do
    state=$(node_state)
    case "$state" in
        idle|mixed|allocated|completing) break ;;
        down*|drain*) scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true ;;
        unk*|"")
            # slurmd sometimes registers before slurmctld is ready: restart it once (if we started it)
            if ((started_slurmd && !restarted)) && [[ -f /run/slurmd.pid ]] && ((SECONDS - T0 > 10)); then
                say "node $NODE is '${state:-unknown}': restarting slurmd once"
                kill "$(cat /run/slurmd.pid)" 2>/dev/null || true
                sleep 1
                slurmd
                restarted=1
            fi ;;
    esac
    sleep 0.2
done
state=$(node_state)
[[ "$state" =~ ^(idle|mixed|allocated|completing)$ ]] \
    || { say "node $NODE is '$state' (logs: /var/log/slurm/slurmctld.log, slurmd.log)"; exit 1; }
say "SLURM up in $((SECONDS - T0)) s: node $NODE $state, partition cpu (logs: /var/log/slurm/slurmctld.log, /var/log/slurm/slurmd.log; munged: /var/log/munge/munged.log)"
