#!/usr/bin/env bash
# Slurm Prolog (slurm.conf: Prolog=/etc/slurm/warpdrive-prolog.sh), run by slurmd as root before a job starts
# on this node:
#   1. makes sure the WarpDrive mount is up: starts the agent if needed (systemctl start, or
#      WARPDRIVE_START_COMMAND where there is no systemd) and waits, at most WARPDRIVE_START_TIMEOUT seconds,
#      until the mount point is a FUSE mount in /proc/mounts and the agent's /healthz answers 200;
#   2. warms the cache for the prefixes the job asked for (job comment "warpdrive:warm=imagenet:train,laion:00"
#      or WARPDRIVE_WARM_PREFIXES=imagenet:train; BACKEND:PATH, or PATH alone when there is one backend) with `warpdrive-ctl warm`, in the background or bounded by
#      WARPDRIVE_WARM_TIMEOUT.
# Exit status: non-zero only when the mount cannot be brought up, so that Slurm drains the node and requeues
# the job. A failed or slow warm never fails the job: the data is read from the backend instead.
# Settings: warpdrive-slurm.conf. Messages: syslog tag warpdrive-slurm.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=warpdrive-slurm-common.sh
. "$here/warpdrive-slurm-common.sh" || exit 1

# start_agent: asks for the agent to start; does not wait for it.
start_agent() {
  if [ -n "$WARPDRIVE_START_COMMAND" ]; then
    if wd_agent_pid >/dev/null; then
      return 0 # started earlier and still coming up
    fi
    local cmd
    read -ra cmd <<< "$WARPDRIVE_START_COMMAND"
    if wd_mounted; then
      # Left by an agent that was killed: a new mount over a dead one fails.
      wd_log warning "detaching the dead mount at $WARPDRIVE_MOUNT_POINT"
      umount -l "$WARPDRIVE_MOUNT_POINT" || return 1
    fi
    mkdir -p "$(dirname "$WARPDRIVE_PID_FILE")" || return 1
    # Its own session, so that nothing Slurm does to the prolog's process group reaches the agent; the lock's
    # fd is closed in it, or the agent would hold the lock for as long as it runs.
    setsid "${cmd[@]}" </dev/null >>"$WARPDRIVE_AGENT_LOG" 2>&1 9>&- &
    echo "$!" > "$WARPDRIVE_PID_FILE"
    wd_log notice "started the agent (pid $!): $WARPDRIVE_START_COMMAND"
    return 0
  fi
  if wd_use_systemd; then
    # A unit that failed earlier (or hit its start limit) gets a fresh try for this job.
    timeout 10 systemctl reset-failed "$WARPDRIVE_UNIT" 2>/dev/null
    if ! timeout 10 systemctl start --no-block "$WARPDRIVE_UNIT"; then
      wd_log err "systemctl start $WARPDRIVE_UNIT failed"
      return 1
    fi
    wd_log notice "starting $WARPDRIVE_UNIT"
    return 0
  fi
  wd_log err "cannot start the agent: systemd is not running and WARPDRIVE_START_COMMAND is not set"
  return 1
}

# wait_ready DEADLINE: polls until the mount is ready; fails early when the agent has already died.
wait_ready() {
  local deadline="$1" pid status
  while ! wd_ready; do
    if [ -n "$WARPDRIVE_START_COMMAND" ]; then
      if [ -r "$WARPDRIVE_PID_FILE" ] && ! pid="$(wd_agent_pid)"; then
        read -r pid < "$WARPDRIVE_PID_FILE"
        if wait "$pid" 2>/dev/null; then status=0; else status=$?; fi
        [ "$status" = 127 ] && status="unknown" # not our child: started by an earlier prolog
        wd_log err "the agent (pid $pid) exited with status $status before $WARPDRIVE_MOUNT_POINT was ready; see $WARPDRIVE_AGENT_LOG"
        return 1
      fi
    elif wd_use_systemd && timeout 5 systemctl is-failed --quiet "$WARPDRIVE_UNIT"; then
      wd_log err "$WARPDRIVE_UNIT failed before $WARPDRIVE_MOUNT_POINT was ready; see journalctl -u $WARPDRIVE_UNIT"
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      local why="not a FUSE mount"
      wd_mounted && why="mounted, but $WARPDRIVE_HEALTH_URL does not answer 200"
      wd_log err "$WARPDRIVE_MOUNT_POINT not ready after ${WARPDRIVE_START_TIMEOUT}s ($why)"
      return 1
    fi
    sleep 0.5
  done
}

# requested_prefixes: prints the prefixes to warm, one a line; invalid ones are logged and left out.
requested_prefixes() {
  local list="${WARPDRIVE_WARM_PREFIXES:-}" comment="${SLURM_JOB_COMMENT:-}" prefix
  if [ -z "$list" ] && [[ "$comment" =~ (^|[[:space:]])warpdrive:warm=([^[:space:]]+) ]]; then
    list="${BASH_REMATCH[2]}"
  fi
  local -a prefixes
  IFS=',' read -ra prefixes <<< "$list"
  for prefix in "${prefixes[@]}"; do
    [ -z "$prefix" ] && continue
    # Job comments come from users: no options, no parent directories, nothing the shell could misread.
    if [[ "$prefix" =~ ^([a-z0-9][a-z0-9_-]*:)?[A-Za-z0-9_][A-Za-z0-9._/=+@-]*$ ]] && ! [[ "/$prefix/" == */../* ]]; then
      printf '%s\n' "$prefix"
    else
      wd_log warning "ignoring warm prefix '$prefix': [BACKEND:]PATH with letters, digits and ._/=+@- only, no '..'"
    fi
  done
}

# warm_now PREFIX...: runs the warm command for each prefix, all of them within WARPDRIVE_WARM_TIMEOUT.
warm_now() {
  local -a base
  read -ra base <<< "$WARPDRIVE_WARM_COMMAND"
  local end=$((SECONDS + WARPDRIVE_WARM_TIMEOUT)) prefix left output status
  for prefix in "$@"; do
    left=$((end - SECONDS))
    if [ "$left" -le 0 ]; then
      wd_log warning "warm $prefix skipped: the ${WARPDRIVE_WARM_TIMEOUT}s warm budget is used up"
      continue
    fi
    # BACKEND:PATH names the backend (warpdrive-ctl --backend); a bare PATH needs a one-backend config.
    local -a target=(--prefix "$prefix")
    [[ "$prefix" == *:* ]] && target=(--backend "${prefix%%:*}" --prefix "${prefix#*:}")
    output="$(timeout --kill-after=5 "$left" "${base[@]}" "${target[@]}" </dev/null 2>&1 9>&-)"
    status=$?
    case "$status" in
      0) wd_log info "warmed $prefix" ;;
      124 | 137) wd_log warning "warm $prefix stopped after the ${WARPDRIVE_WARM_TIMEOUT}s warm budget" ;;
      *) wd_log warning "warm $prefix failed with status $status: ${output##*$'\n'}" ;;
    esac
  done
}

main() {
  wd_load_config || return 1

  if [ "${1:-}" = "--warm-now" ]; then # the detached background warm started below
    shift
    warm_now "$@"
    return 0
  fi

  local deadline=$((SECONDS + WARPDRIVE_START_TIMEOUT))
  if ! wd_lock "$WARPDRIVE_START_TIMEOUT"; then
    wd_log err "could not take $WARPDRIVE_LOCK_FILE within ${WARPDRIVE_START_TIMEOUT}s"
    return 1
  fi
  if wd_ready; then
    wd_log info "$WARPDRIVE_MOUNT_POINT is up"
  else
    start_agent || return 1
    wait_ready "$deadline" || return 1
    wd_log notice "$WARPDRIVE_MOUNT_POINT is up"
  fi
  flock -u 9
  exec 9>&-

  local -a prefixes
  mapfile -t prefixes < <(requested_prefixes)
  [ "${#prefixes[@]}" -eq 0 ] && return 0
  if [ "$WARPDRIVE_WARM_MODE" = "wait" ]; then
    wd_log info "warming ${prefixes[*]} before the job starts (at most ${WARPDRIVE_WARM_TIMEOUT}s)"
    warm_now "${prefixes[@]}"
  else
    wd_log info "warming ${prefixes[*]} in the background"
    setsid "$here/warpdrive-prolog.sh" --warm-now "${prefixes[@]}" </dev/null >/dev/null 2>&1 &
  fi
  return 0
}

main "$@"
