# shellcheck shell=bash
# Shared by warpdrive-prolog.sh and warpdrive-epilog.sh: settings, logging, and what "the mount is up" means.
# Sourced, never run. Every external command that could block runs under `timeout`.

# slurmd starts prologs and epilogs without a search path.
export PATH="${PATH:+$PATH:}/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

WD_JOB="${SLURM_JOB_ID:-none}"

# wd_log LEVEL MESSAGE: to syslog (journalctl -t warpdrive-slurm) and to stderr, which Slurm keeps only when
# debugging. LEVEL is a syslog level: err, warning, notice, info.
wd_log() {
  local level="$1"; shift
  logger -t "${WARPDRIVE_LOG_TAG:-warpdrive-slurm}" -p "user.$level" -- "job $WD_JOB: $*" 2>/dev/null || true
  printf '%s: %s: job %s: %s\n' "${WARPDRIVE_LOG_TAG:-warpdrive-slurm}" "$level" "$WD_JOB" "$*" >&2
}

# wd_load_config: sources the settings file and checks the values the scripts compute with.
wd_load_config() {
  local here conf
  here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
  for conf in "${WARPDRIVE_SLURM_CONF:-}" /etc/warpdrive/warpdrive-slurm.conf "$here/warpdrive-slurm.conf"; do
    [ -n "$conf" ] && [ -r "$conf" ] && break
    conf=""
  done
  if [ -z "$conf" ]; then
    wd_log err "no settings file (WARPDRIVE_SLURM_CONF, /etc/warpdrive/warpdrive-slurm.conf, $here/warpdrive-slurm.conf)"
    return 1
  fi
  # shellcheck source=warpdrive-slurm.conf
  . "$conf" || { wd_log err "could not read $conf"; return 1; }
  local name
  for name in WARPDRIVE_START_TIMEOUT WARPDRIVE_STOP_TIMEOUT WARPDRIVE_WARM_TIMEOUT; do
    if ! [[ "${!name}" =~ ^[0-9]+$ ]]; then
      wd_log err "$conf: $name=${!name} is not a number of seconds"
      return 1
    fi
  done
}

# wd_mounted: the mount point is a FUSE mount now (ground truth: /proc/mounts; never stats the mount point,
# which would hang or fail on a dead FUSE server).
wd_mounted() {
  awk -v mp="$WARPDRIVE_MOUNT_POINT" '$2 == mp && $3 ~ /^fuse/ { found = 1 } END { exit !found }' /proc/mounts
}

# wd_healthy: the agent's /healthz answers 200 (or no health URL is configured).
wd_healthy() {
  [ -z "$WARPDRIVE_HEALTH_URL" ] && return 0
  curl -fsS -o /dev/null --max-time 2 "$WARPDRIVE_HEALTH_URL" 2>/dev/null
}

# wd_answers: the filesystem answers statfs(2), which goes to the agent; a dead mount fails at once
# (ENOTCONN) and a hung agent within 5 s.
wd_answers() {
  timeout 5 stat -f "$WARPDRIVE_MOUNT_POINT" >/dev/null 2>&1
}

wd_ready() { wd_mounted && wd_answers && wd_healthy; }

# wd_use_systemd: the agent is a systemd unit (no start command configured, and systemd is running).
wd_use_systemd() {
  [ -z "$WARPDRIVE_START_COMMAND" ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]
}

# wd_agent_pid: prints the PID of the agent started by WARPDRIVE_START_COMMAND if it still runs.
wd_agent_pid() {
  local pid
  [ -r "$WARPDRIVE_PID_FILE" ] || return 1
  read -r pid < "$WARPDRIVE_PID_FILE" || return 1
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null && printf '%s\n' "$pid"
}

# wd_lock SECONDS: takes the node-wide lock on fd 9, waiting at most SECONDS.
wd_lock() {
  mkdir -p "$(dirname "$WARPDRIVE_LOCK_FILE")" 2>/dev/null
  exec 9>>"$WARPDRIVE_LOCK_FILE" || return 1
  flock -w "$1" 9
}
