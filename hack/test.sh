#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need, builds once, runs every test project one after
# another (mount tests must not fight over the two cores), and ends with one summary line:
#   N passed, N failed, N skipped
# Usage: ./hack/test.sh [--filter EXPR]   (EXPR is a dotnet test filter, e.g. FullyQualifiedName~Cache)
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

filter=()
if [ "${1:-}" = "--filter" ] && [ -n "${2:-}" ]; then
  filter=(--filter "$2")
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

echo "==> installing test dependencies"
bash "$repo/hack/deps.sh" || { echo "dependency installation failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }

echo "==> building"
if ! dotnet build "$repo/WarpDrive.Operator.sln" -c Debug -nologo -clp:ErrorsOnly; then
  echo "build failed"
  echo "0 passed, 1 failed, 0 skipped"
  exit 1
fi

our_mounts() { awk '$3 ~ /^fuse/ && $1 ~ /warpdrive/ {print $2}' /proc/mounts | sort; }
mounts_before="$(our_mounts)"

results="$repo/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

status=0
for project in "$repo"/tests/*/*.csproj; do
  grep -q '<IsTestProject>true</IsTestProject>' "$project" || continue
  name="$(basename "$project" .csproj)"
  echo "==> $name"
  # --blame-hang-timeout turns a hung test into a failure with a dump instead of a stuck CI.
  if ! timeout 1800 dotnet test "$project" --no-build -c Debug -nologo "${filter[@]}" \
      --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=minimal" \
      --results-directory "$results" --blame-hang-timeout 5m; then
    status=1
  fi
done

# csi-sanity, the official CSI conformance suite (kubernetes-csi/csi-test, a Go binary), against the real plugin
# process over a local data source, with real FUSE and bind mounts. CI keeps the binary beside the repo
# (../shared/k8s/bin/csi-sanity.xz); it is unpacked once into a cache outside the repo. Skipped with --filter.
# Its Ginkgo JUnit report joins the .trx files in the summary below.
run_csi_sanity() {
  local packed="$repo/../shared/k8s/bin/csi-sanity.xz"
  local sums="$repo/../shared/k8s/bin/SHA256SUMS"
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
if [ "${#filter[@]}" -eq 0 ]; then
  run_csi_sanity || status=1
fi

# Anything of ours still mounted is a test that did not clean up: count it as a failure.
leftover=$(comm -13 <(echo "$mounts_before") <(our_mounts))
leak=0
if [ -n "$leftover" ]; then
  echo "FUSE mounts left behind by the tests:"; echo "$leftover"
  leak=1
  status=1
fi

passed=0; failed=0; skipped=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -1)
  get() { echo "$counters" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  passed=$((passed + $(get passed)))
  failed=$((failed + $(get failed) + $(get error) + $(get timeout) + $(get aborted)))
  # Ignored tests are neither executed nor counted as notExecuted by every adapter: count what did not run.
  skipped=$((skipped + $(get total) - $(get executed) + $(get inconclusive)))
done
# Ginkgo's JUnit report (csi-sanity): pending specs are "disabled", capability-gated ones "skipped".
for junit in "$results"/*.xml; do
  [ -f "$junit" ] || continue
  suite=$(grep -o '<testsuite [^>]*>' "$junit" | head -1)
  jget() { echo "$suite" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
  jfailed=$(( $(jget failures) + $(jget errors) ))
  jskipped=$(( $(jget skipped) + $(jget disabled) ))
  passed=$((passed + $(jget tests) - jfailed - jskipped))
  failed=$((failed + jfailed))
  skipped=$((skipped + jskipped))
done
failed=$((failed + leak))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # a project crashed or hung before writing its results
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
