#!/usr/bin/env bash
# Slurm Epilog (slurm.conf: Epilog=/etc/slurm/warpdrive-epilog.sh), run by slurmd as root after a job ends on
# this node.
#   - Cache metadata needs no flush from here: the agent writes its block index as blocks arrive and its access
#     times every 10 s and when it stops. There is no flush endpoint or signal to call.
#   - With WARPDRIVE_UNMOUNT_ON_EPILOG=yes, and no other job left on the node (asked of squeue when it is
#     installed), stops the agent (systemctl stop, or SIGTERM to the agent started by the prolog's
#     WARPDRIVE_START_COMMAND), which unmounts; after WARPDRIVE_STOP_TIMEOUT seconds it kills the agent and
#     detaches the mount (umount -l).
# Always exits 0: a mount that stays up does not make the node unusable, so it is never a reason to drain.
# Settings: warpdrive-slurm.conf. Messages: syslog tag warpdrive-slurm.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=warpdrive-slurm-common.sh
. "$here/warpdrive-slurm-common.sh" || exit 0

# other_jobs_on_node: succeeds when squeue reports a job other than this one on the node. Without squeue
# (or when it does not answer) it cannot tell, and says "no" only when squeue is absent.
other_jobs_on_node() {
  command -v squeue >/dev/null 2>&1 || return 1
  local node="${SLURMD_NODENAME:-$(hostname -s)}" jobs
  if ! jobs="$(timeout 10 squeue --noheader --nodelist="$node" --states=RUNNING,COMPLETING,CONFIGURING --format=%A 2>/dev/null)"; then
    wd_log warning "squeue did not answer; leaving $WARPDRIVE_MOUNT_POINT mounted"
    return 0
  fi
  grep -qvx -e "$WD_JOB" -e '' <<< "$jobs"
}

# stop_agent: asks the agent to stop and waits for it and its mount to be gone, until DEADLINE.
stop_agent() {
  local deadline="$1" pid=""
  if [ -n "$WARPDRIVE_START_COMMAND" ]; then
    if pid="$(wd_agent_pid)"; then
      kill -TERM "$pid"
    fi
  elif wd_use_systemd; then
    timeout "$WARPDRIVE_STOP_TIMEOUT" systemctl stop "$WARPDRIVE_UNIT" \
      || wd_log warning "systemctl stop $WARPDRIVE_UNIT did not succeed"
  fi
  while { [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; } || wd_mounted; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      wd_log err "the agent did not stop within ${WARPDRIVE_STOP_TIMEOUT}s; killing it and detaching $WARPDRIVE_MOUNT_POINT"
      [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
      wd_mounted && umount -l "$WARPDRIVE_MOUNT_POINT"
      return 1
    fi
    sleep 0.5
  done
  [ -n "$WARPDRIVE_START_COMMAND" ] && rm -f "$WARPDRIVE_PID_FILE"
  return 0
}

main() {
  wd_load_config || return 0
  if [ "$WARPDRIVE_UNMOUNT_ON_EPILOG" != "yes" ]; then
    return 0 # the mount, and its warm cache, stay for the next job
  fi
  if other_jobs_on_node; then
    wd_log info "other jobs still run on this node; $WARPDRIVE_MOUNT_POINT stays mounted"
    return 0
  fi
  local deadline=$((SECONDS + WARPDRIVE_STOP_TIMEOUT))
  if ! wd_lock "$WARPDRIVE_STOP_TIMEOUT"; then
    wd_log warning "could not take $WARPDRIVE_LOCK_FILE within ${WARPDRIVE_STOP_TIMEOUT}s; not unmounting"
    return 0
  fi
  if stop_agent "$deadline"; then
    wd_log notice "stopped the agent; $WARPDRIVE_MOUNT_POINT is unmounted"
  fi
  return 0
}

main "$@"
exit 0
