#!/usr/bin/env bash
# The main job, end to end: installs what is missing, builds warpdrive-node, creates sample training shards
# in two local "backends", mounts them as one read-only tree, lists it, reads every file and compares it
# byte for byte with its source, shows that writes are refused, then unmounts.
# Usage: ./hack/demo.sh [--keep]   (--keep leaves the tree mounted and prints how to stop it)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
keep=0
[ "${1:-}" = "--keep" ] && keep=1

if [ "$(id -u)" -ne 0 ] && ! command -v fusermount3 >/dev/null; then
  echo "demo: needs root (to install fuse3) or fusermount3 already installed" >&2
  exit 1
fi

work="${WARPDRIVE_DEMO_DIR:-/tmp/warpdrive-demo}"
mnt="$work/mnt"
agent_pid=""

cleanup() {
  local code=$?
  if [ "$keep" = 1 ] && [ "$code" = 0 ]; then return; fi
  if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
    kill -TERM "$agent_pid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$agent_pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$agent_pid" 2>/dev/null || true
  fi
  if grep -q " $mnt fuse" /proc/mounts; then umount -l "$mnt" 2>/dev/null || fusermount3 -u -z "$mnt" 2>/dev/null || true; fi
  exit "$code"
}
trap cleanup EXIT INT TERM

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

command -v dotnet >/dev/null || { echo "demo: needs the .NET 10 SDK (dotnet) on PATH" >&2; exit 1; }

# The demo needs fuse3 only (fusermount3 for unprivileged mounts); hack/deps.sh installs what the tests need.
step "Installing what is missing (fuse3)"
if command -v fusermount3 >/dev/null; then
  echo "fuse3 present"
else
  DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fuse3 >/dev/null
  echo "installed fuse3"
fi

step "Building warpdrive-node (Release)"
dotnet build "$repo/csi-node/WarpDrive.Node" -c Release -nologo -clp:ErrorsOnly -v:q
agent="$repo/artifacts/bin/WarpDrive.Node/release/warpdrive-node"

step "Creating sample data in $work/source"
if grep -q " $mnt fuse" /proc/mounts; then umount -l "$mnt" || true; fi
rm -rf "$work"
mkdir -p "$work/source/images/train" "$work/source/images/val" "$work/source/text" "$mnt"
for i in $(seq -w 0 7); do head -c $((3 * 1024 * 1024 + 4096 * 10#$i)) /dev/urandom > "$work/source/images/train/shard-$i.tar"; done
for i in 0 1; do head -c $((1024 * 1024 + 17)) /dev/urandom > "$work/source/images/val/shard-$i.tar"; done
for i in $(seq 0 3); do
  for _ in $(seq 1 2000); do echo "sample $i line $RANDOM $RANDOM"; done > "$work/source/text/part-$i.jsonl"
done
echo "tokenizer config" > "$work/source/text/README"

cat > "$work/config.yaml" <<YAML
# Two local backends (as NFS or any kernel mount would be served) under one tree.
mount_point: $mnt
cache:
  path: $work/cache
  max_size: 1GB
backends:
  - name: images
    type: local
    mount_path: /datasets/images
    config:
      root: $work/source/images
  - name: text
    type: local
    mount_path: /datasets/text
    config:
      root: $work/source/text
YAML

step "Mounting $mnt with warpdrive-node"
"$agent" mount --config "$work/config.yaml" --log-format text 2> "$work/agent.log" &
agent_pid=$!
for _ in $(seq 1 150); do
  grep -q " $mnt fuse" /proc/mounts && break
  kill -0 "$agent_pid" 2>/dev/null || { echo "agent exited:"; cat "$work/agent.log"; exit 1; }
  sleep 0.1
done
grep " $mnt fuse" /proc/mounts || { echo "mount did not appear"; cat "$work/agent.log"; exit 1; }

step "The unified tree (ls -lR $mnt)"
ls -lR "$mnt"

step "Reading every file through the mount and comparing it with its source"
files=0; bytes=0
check() { # check <source-root> <mounted-root>
  while IFS= read -r -d '' src; do
    rel="${src#"$1"/}"
    cmp -s "$src" "$2/$rel" || { echo "MISMATCH: $rel"; exit 1; }
    files=$((files + 1)); bytes=$((bytes + $(stat -c %s "$src")))
  done < <(find "$1" -type f -print0)
}
start=$(date +%s.%N)
check "$work/source/images" "$mnt/datasets/images"
check "$work/source/text" "$mnt/datasets/text"
end=$(date +%s.%N)
echo "ok: $files files, $bytes bytes identical ($(awk -v b="$bytes" -v s="$start" -v e="$end" 'BEGIN { printf "%.0f MiB/s", b / 1048576 / (e - s) }'))"

step "Writes are refused (read-only tree)"
if touch "$mnt/datasets/images/new-file" 2> "$work/touch.err"; then echo "UNEXPECTED: write succeeded"; exit 1; fi
cat "$work/touch.err"

if [ "$keep" = 1 ]; then
  step "Left mounted at $mnt (agent pid $agent_pid). Stop it with: kill $agent_pid"
  exit 0
fi

step "Unmounting (SIGTERM to the agent)"
kill -TERM "$agent_pid"
wait "$agent_pid" && echo "agent exited 0"
agent_pid=""
grep -q " $mnt fuse" /proc/mounts && { echo "still mounted!"; exit 1; }
echo "demo finished: every byte read through WarpDrive matched its source"
