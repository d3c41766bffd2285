#!/usr/bin/env bash
# Benchmarks WarpDrive beside native reads and the FUSE clients people use today (rclone mount, s3fs):
# builds warpdrive-bench in Release, installs what is missing (hack/deps.sh), starts s3rver and Azurite on
# loopback, each behind warpdrive-bench's latency proxy, and runs `warpdrive-bench suite`, which creates the
# dataset once, runs every workload against every target and writes bench-results/ (table, results.json,
# charts) and docs/benchmarks.md with docs/benchmarks/*.png.
#
# Usage: hack/bench.sh [--quick] [--latency-ms N] [--docs|--no-docs]
#   --quick       small dataset, one run per figure (no median); under 3 minutes on 2 cores once built.
#                 Does not rewrite docs/benchmarks.md unless --docs is given.
#   --latency-ms  round trip the proxy adds in front of s3rver and Azurite (default 10).
# Environment: WARPDRIVE_BENCH_DIR (work dir, default /tmp/warpdrive-bench), WARPDRIVE_BENCH_ARTIFACTS
# (build output, default ./artifacts).
# Everything started here is stopped by PID, and every mount under the work dir unmounted, on any exit.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

quick=0 latency=10 docs=auto
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) quick=1 ;;
    --latency-ms) latency="$2"; shift ;;
    --docs) docs=yes ;;
    --no-docs) docs=no ;;
    *) echo "usage: hack/bench.sh [--quick] [--latency-ms N] [--docs|--no-docs]" >&2; exit 2 ;;
  esac
  shift
done
[ "$docs" = auto ] && { [ "$quick" = 1 ] && docs=no || docs=yes; }

work="${WARPDRIVE_BENCH_DIR:-/tmp/warpdrive-bench}"
artifacts="${WARPDRIVE_BENCH_ARTIFACTS:-$repo/artifacts}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
mkdir -p "$work"
pidfile="$work/children.pid"
: > "$pidfile"
export WARPDRIVE_BENCH_PIDFILE="$pidfile"
started=()   # PIDs this script started itself

# shellcheck disable=SC2317  # invoked by the trap
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # The suite first (it stops its own servers on SIGTERM), then whatever it recorded, then ours.
  for pid in "${started[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  sleep 1
  while read -r pid; do
    [ -n "$pid" ] && [ -d "/proc/$pid" ] && grep -qaE 'warpdrive-node|rclone|s3fs' "/proc/$pid/cmdline" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  done < "$pidfile"
  for pid in "${started[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  awk -v w="$work/" '$3 ~ /^fuse/ && index($2, w) == 1 {print $2}' /proc/mounts | while read -r m; do umount -l "$m" 2>/dev/null || true; done
  exit "$status"
}
trap cleanup EXIT INT TERM

free_port() {
  local port
  while :; do
    port=$(( 20000 + RANDOM % 20000 ))
    ss -ltn "sport = :$port" | grep -q LISTEN || { echo "$port"; return; }
  done
}

wait_port() { # wait_port <port> <what>
  for _ in $(seq 1 300); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "bench: $2 did not listen on $1" >&2
  return 1
}

t0=$(date +%s)
echo "==> dependencies"
bash "$repo/hack/deps.sh"
command -v ss >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2 >/dev/null; }

echo "==> building warpdrive-bench (Release)"
dotnet build "$repo/bench/WarpDrive.Bench" -c Release --artifacts-path "$artifacts" -nologo -clp:ErrorsOnly -v:q
bench=(dotnet "$artifacts/bin/WarpDrive.Bench/release/warpdrive-bench.dll")
# warpdrive-ctl is optional: with it, WarpDrive targets are warmed by `warpdrive-ctl warm --mount`.
ctl=$(command -v warpdrive-ctl || true)
if [ -z "$ctl" ] && [ "$quick" = 0 ] && [ -f "$repo/operator/WarpDrive.Ctl/WarpDrive.Ctl.csproj" ]; then
  if dotnet build "$repo/operator/WarpDrive.Ctl" -c Release --artifacts-path "$artifacts" -nologo -clp:ErrorsOnly -v:q >/dev/null 2>&1; then
    ctl="$artifacts/bin/WarpDrive.Ctl/release/warpdrive-ctl.dll"
  else
    echo "bench: warpdrive-ctl did not build; warm reads through the mount instead" >&2
  fi
fi
t1=$(date +%s)

echo "==> starting s3rver and Azurite behind a ${latency} ms proxy"
s3_port=$(free_port) azure_port=$(free_port)
mkdir -p "$work/s3rver" "$work/azurite"
NODE_OPTIONS=--openssl-legacy-provider "$repo/.tools/node_modules/.bin/s3rver" -d "$work/s3rver" -a 127.0.0.1 -p "$s3_port" \
  --silent --configure-bucket warpdrive-bench > "$work/s3rver.log" 2>&1 &
started+=($!)
"$repo/.tools/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$azure_port" --location "$work/azurite" \
  --silent --skipApiVersionCheck --loose > "$work/azurite.log" 2>&1 &
started+=($!)
wait_port "$s3_port" s3rver
wait_port "$azure_port" azurite
s3_proxy=$(free_port)
"${bench[@]}" proxy --listen-port "$s3_proxy" --upstream-port "$s3_port" --latency-ms "$latency" > "$work/proxy-s3.log" 2>&1 &
started+=($!)
azure_proxy=$(free_port)
"${bench[@]}" proxy --listen-port "$azure_proxy" --upstream-port "$azure_port" --latency-ms "$latency" > "$work/proxy-azure.log" 2>&1 &
started+=($!)
wait_port "$s3_proxy" "s3 proxy"
wait_port "$azure_proxy" "azure proxy"

echo "==> running the suite"
args=(suite --dir "$work" --out "$repo/bench-results" --latency-ms "$latency"
  --s3-endpoint "http://127.0.0.1:$s3_proxy" --s3-upload-endpoint "http://127.0.0.1:$s3_port"
  --azure-endpoint "http://127.0.0.1:$azure_proxy" --azure-upload-endpoint "http://127.0.0.1:$azure_port")
if [ "$quick" = 1 ]; then args+=(--quick); fi
if [ "$docs" = yes ]; then args+=(--docs "$repo/docs"); fi
if [ -n "$ctl" ]; then args+=(--ctl "$ctl"); fi
"${bench[@]}" "${args[@]}" &
suite_pid=$!
started+=("$suite_pid")
status=0
wait "$suite_pid" || status=$?
t2=$(date +%s)
echo "==> done: build $((t1 - t0)) s, servers + suite $((t2 - t1)) s, total $((t2 - t0)) s$([ "$quick" = 1 ] && echo ' (quick mode: one run per figure, no median)')"
exit "$status"
