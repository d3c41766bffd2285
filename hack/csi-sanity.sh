#!/usr/bin/env bash
# csi-sanity, the official CSI conformance suite (kubernetes-csi/csi-test, a Go binary), against the real plugin
# process over a local data source, with real FUSE and bind mounts. CI keeps the binary beside the repo
# (../shared/k8s/bin/csi-sanity.xz, or $WARPDRIVE_K8S_KIT/bin); unpacked once into a cache outside the repo.
# Usage: hack/csi-sanity.sh [--results DIR]   (DIR gets csi-sanity.xml, the Ginkgo JUnit report, and the plugin's log)
# Needs a built tree (dotnet build) and root (FUSE and bind mounts).
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kit="${WARPDRIVE_K8S_KIT:-$repo/../shared/k8s}"
results="$repo/artifacts/test-results"
if [ "${1:-}" = "--results" ]; then results="${2:?--results needs a directory}"; fi
mkdir -p "$results"

run_csi_sanity() {
  local packed="$kit/bin/csi-sanity.xz"
  local sums="$kit/bin/SHA256SUMS"
  local cache="${WARPDRIVE_TOOLS_CACHE:-/var/cache/warpdrive-tools}"
  if [ ! -f "$packed" ]; then
    echo "==> csi-sanity: $packed not found, not run"
    return 0
  fi
  echo "==> csi-sanity"
  local want; want="$(awk '$2 == "csi-sanity" {print $1}' "$sums" 2>/dev/null)"
  if [ ! -x "$cache/csi-sanity" ] || { [ -n "$want" ] && [ "$(sha256sum "$cache/csi-sanity" | cut -d' ' -f1)" != "$want" ]; }; then
    mkdir -p "$cache" && xz -dc "$packed" > "$cache/csi-sanity.tmp" && chmod +x "$cache/csi-sanity.tmp" \
      && mv "$cache/csi-sanity.tmp" "$cache/csi-sanity" || { echo "csi-sanity: cannot unpack into $cache"; return 1; }
  fi

  local dir; dir="$(mktemp -d /tmp/warpdrive-sanity.XXXXXX)"
  mkdir -p "$dir/data/sub"
  echo "csi-sanity data" > "$dir/data/a.txt"
  echo "nested" > "$dir/data/sub/b.txt"
  # An untenanted source: publishable only by requests that name no pod namespace, as csi-sanity's do.
  cat > "$dir/config.yaml" <<YAML
mount_point: /unused
cache: { path: $dir/cache, max_size: 64MiB, block_size: 1MiB }
metrics: { enabled: false }
backends:
  - name: sanity
    type: local
    config: { root: $dir/data }
YAML
  echo "source: sanity" > "$dir/volume-parameters.yaml"

  dotnet "$repo/artifacts/bin/WarpDrive.Node/debug/warpdrive-node.dll" csi --endpoint "unix://$dir/csi.sock" --node-id sanity \
    --config "$dir/config.yaml" --state-dir "$dir/state" --release-grace 00:00:00 --log-format text 2> "$results/csi-sanity-plugin.log" &
  local plugin=$!
  local waited=0
  while [ ! -S "$dir/csi.sock" ] && kill -0 "$plugin" 2>/dev/null && [ "$waited" -lt 600 ]; do sleep 0.1; waited=$((waited + 1)); done

  local rc=0
  if [ -S "$dir/csi.sock" ]; then
    timeout 900 "$cache/csi-sanity" --csi.endpoint "$dir/csi.sock" --csi.testvolumeparameters "$dir/volume-parameters.yaml" \
      --csi.mountdir "$dir/target" --csi.stagingdir "$dir/staging" \
      --ginkgo.junit-report "$results/csi-sanity.xml" --ginkgo.no-color --ginkgo.succinct || rc=1
  else
    echo "csi-sanity: the plugin did not start (log: $results/csi-sanity-plugin.log)"; rc=1
  fi

  # Stop the plugin by its PID (SIGTERM unmounts everything), then make sure nothing of it is left mounted.
  kill -TERM "$plugin" 2>/dev/null
  for _ in $(seq 1 300); do kill -0 "$plugin" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$plugin" 2>/dev/null && { echo "csi-sanity: the plugin did not stop on SIGTERM"; kill -KILL "$plugin"; rc=1; }
  wait "$plugin" 2>/dev/null
  local left; left="$(awk -v d="$dir/" 'index($2, d) == 1 {print $2}' /proc/mounts | sort -r)"
  if [ -n "$left" ]; then
    echo "csi-sanity: mounts left behind:"; echo "$left"
    for m in $left; do umount -l "$m"; done
    rc=1
  fi
  rm -rf "$dir"
  return "$rc"
}
run_csi_sanity
