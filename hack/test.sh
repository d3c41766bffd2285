#!/usr/bin/env bash
# Runs the whole test suite: installs what the tests need, builds once, runs every test project one after
# another (mount tests must not fight over the two cores), and ends with one summary line:
#   N passed, N failed, N skipped
# Then the Kubernetes e2e (hack/e2e.sh: images, the chart, real pods) when a cluster is at hand: KUBECONFIG, or the
# test kit at ../shared/k8s; its tests count in the same summary line.
# Usage: ./hack/test.sh [--filter EXPR] [--no-e2e]   (EXPR is a dotnet test filter, e.g. FullyQualifiedName~Cache)
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

filter=()
e2e=auto
while [ $# -gt 0 ]; do
  case "$1" in
    --filter) filter=(--filter "${2:?--filter needs an expression}"); shift ;;
    --no-e2e) e2e=no ;;
    *) echo "test.sh: unknown argument $1 (usage: ./hack/test.sh [--filter EXPR] [--no-e2e])" >&2; exit 2 ;;
  esac
  shift
done
# The e2e runs when a cluster is reachable or the kit can start one, and not for a filtered run.
if [ "$e2e" = auto ]; then
  e2e=no
  if [ ${#filter[@]} -eq 0 ] && { [ -n "${KUBECONFIG:-}" ] || [ -x "${WARPDRIVE_K8S_KIT:-$repo/../shared/k8s}/cluster" ]; }; then
    e2e=yes
  fi
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1

# How long: the figures are from our 2-core CI box; a first run adds package installs and a cold build.
echo "==> the whole suite usually takes about 8 minutes of tests on 2 cores, plus the build (a first run also installs packages); the Kubernetes e2e adds about 8 more when the kit or a cluster is there"
echo "==> installing test dependencies"
bash "$repo/hack/deps.sh" || { echo "dependency installation failed"; echo "0 passed, 1 failed, 0 skipped"; exit 1; }

# The dashboard first: the .NET build copies dashboard/dist beside the control plane (warpdrive-ctl serve, the operator).
status=0
echo "==> building the dashboard (hack/dashboard.sh)"
if ! bash "$repo/hack/dashboard.sh"; then
  echo "dashboard build failed"
  status=1
fi

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

projects=()
for project in "$repo"/tests/*/*.csproj; do
  grep -q '<IsTestProject>true</IsTestProject>' "$project" || continue
  # hack/e2e.sh runs the e2e project itself, in phases around the chart installation.
  [ "$e2e" = yes ] && [ "$(basename "$project" .csproj)" = WarpDrive.E2E.Tests ] && continue
  projects+=("$project")
done

counter() { # counter <trx> <name>: one attribute of the run's <Counters>, 0 if absent
  grep -o '<Counters [^>]*>' "$1" 2>/dev/null | head -1 | grep -o " $2=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0
}

index=0
for project in "${projects[@]}"; do
  index=$((index + 1))
  name="$(basename "$project" .csproj)"
  echo "==> [$index/${#projects[@]}] $name"
  started=$(date +%s)
  # --blame-hang-timeout turns a hung test into a failure with a dump instead of a stuck CI.
  if ! timeout 1800 dotnet test "$project" --no-build -c Debug -nologo "${filter[@]}" \
      --logger "trx;LogFileName=$name.trx" --logger "console;verbosity=minimal" \
      --results-directory "$results" --blame-hang-timeout 5m; then
    status=1
  fi
  trx="$results/$name.trx"
  echo "<== [$index/${#projects[@]}] $name: $(counter "$trx" passed) passed, $(( $(counter "$trx" failed) + $(counter "$trx" error) + $(counter "$trx" timeout) + $(counter "$trx" aborted) )) failed in $(( $(date +%s) - started ))s"
done

# The dashboard's own tests (dashboard/README.md): vitest unit and component tests, then the browser e2e (Debian's
# chromium against a seeded warpdrive-ctl serve). Each writes a JUnit file that the summary counts; one that wrote
# none crashed before its tests ran.
run_dashboard() { # run_dashboard <label> <junit> <npm args...>
  local label=$1 junit=$2 started
  shift 2
  echo "==> dashboard $label"
  started=$(date +%s)
  if ! (cd "$repo/dashboard" && JUNIT_FILE="$junit" timeout 900 npm "$@"); then
    status=1
  fi
  [ -f "$junit" ] || { echo "dashboard $label: no JUnit report written"; status=1; }
  echo "<== dashboard $label in $(( $(date +%s) - started ))s"
}
run_dashboard unit "$results/dashboard-unit.xml" exec --silent -- vitest run
run_dashboard "browser e2e" "$results/dashboard-e2e.xml" run --silent e2e

# csi-sanity, the official CSI conformance suite, against the real plugin (hack/csi-sanity.sh; its JUnit report joins
# the .trx files in the summary). Not with --filter.
if [ "${#filter[@]}" -eq 0 ]; then
  bash "$repo/hack/csi-sanity.sh" --results "$results" || status=1
fi

if [ "$e2e" = yes ]; then
  echo "==> Kubernetes e2e (hack/e2e.sh)"
  bash "$repo/hack/e2e.sh" --results "$results" || status=1
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
# JUnit reports: Ginkgo's (csi-sanity; pending specs are "disabled", capability-gated ones "skipped") and vitest's
# (dashboard; a <testsuites> root with one <testsuite> per test file). Every <testsuite> element is summed; the
# <testsuites> root, which repeats their totals, is not.
for junit in "$results"/*.xml; do
  [ -f "$junit" ] || continue
  while read -r suite; do
    jget() { echo "$suite" | grep -o " $1=\"[0-9]*\"" | grep -o '[0-9]*' || echo 0; }
    jfailed=$(( $(jget failures) + $(jget errors) ))
    jskipped=$(( $(jget skipped) + $(jget disabled) ))
    passed=$((passed + $(jget tests) - jfailed - jskipped))
    failed=$((failed + jfailed))
    skipped=$((skipped + jskipped))
  done < <(grep -o '<testsuite [^>]*>' "$junit")
done
failed=$((failed + leak))
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  failed=1 # a project crashed or hung before writing its results
fi

echo
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ] && [ "$status" -eq 0 ]
