#!/usr/bin/env bash
# Benchmarks WarpDrive beside native reads and the FUSE clients people use today (rclone mount, s3fs):
# builds warpdrive-bench in Release, installs what is missing (hack/deps.sh; Debian's python3-torch and
# python3-torchvision for the PyTorch workloads), starts Azurite on loopback behind warpdrive-bench's latency proxy,
# and runs `warpdrive-bench suite`, which creates the dataset once, starts the benchmark S3 responder over it
# (`warpdrive-bench s3-server`, reached directly for 0 ms and through the proxy for --latency-ms), runs every
# workload against every target and writes bench-results/ (table, results.json, charts) and docs/benchmarks.md
# with docs/benchmarks/*.png.
#
# Usage: hack/bench.sh [--quick] [--latency-ms N] [--docs|--no-docs]
#   --quick       small dataset, one run per figure (no median), S3 clients at --latency-ms only;
#                 about 4 minutes on 2 cores once built.
#                 Does not rewrite docs/benchmarks.md unless --docs is given.
#   --latency-ms  round trip the proxy adds in front of the S3 responder and Azurite (default 10); the full
#                 run also measures every S3 client at 0 ms.
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
    [ -n "$pid" ] && [ -d "/proc/$pid" ] && grep -qaE 'warpdrive-node|warpdrive-bench|rclone|s3fs' "/proc/$pid/cmdline" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
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
# The PyTorch workloads run Debian's torch with Debian's python (another python3 may come first on PATH).
if ! /usr/bin/python3 -c 'import torch, torchvision, PIL' 2>/dev/null; then
  echo "bench: installing python3-torch, python3-torchvision, python3-pil (apt)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-torch python3-torchvision python3-pil >/dev/null
fi

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

echo "==> starting Azurite behind a ${latency} ms proxy (the suite starts the S3 responder itself)"
azure_port=$(free_port)
mkdir -p "$work/azurite"
"$repo/.tools/node_modules/.bin/azurite-blob" --blobHost 127.0.0.1 --blobPort "$azure_port" --location "$work/azurite" \
  --silent --skipApiVersionCheck --loose > "$work/azurite.log" 2>&1 &
started+=($!)
wait_port "$azure_port" azurite
azure_proxy=$(free_port)
"${bench[@]}" proxy --listen-port "$azure_proxy" --upstream-port "$azure_port" --latency-ms "$latency" > "$work/proxy-azure.log" 2>&1 &
started+=($!)
wait_port "$azure_proxy" "azure proxy"

echo "==> running the suite"
rtts=(0 "$latency")
[ "$quick" = 1 ] && rtts=("$latency")
args=(suite --dir "$work" --out "$repo/bench-results" --latency-ms "$latency" --s3-rtt-ms "${rtts[@]}"
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
