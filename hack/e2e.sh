#!/usr/bin/env bash
# Kubernetes end to end, as a user installs WarpDrive: images, the Helm chart, real pods reading through the CSI
# plugin and the FUSE tree, then uninstall and check that nothing is left behind.
#
# Usage: hack/e2e.sh [--results DIR] [--keep] [--only NAME]
#   --results DIR  where the .trx files go (default artifacts/e2e-results); hack/test.sh counts them in its summary
#   --keep         leave the chart installed (and a cluster this script started running) for debugging
#   --only NAME    in every phase, only tests whose full name contains NAME (e.g. PodIdentityTests)
# WARPDRIVE_E2E_TAG=T uses images already built and loaded with that tag (hack/images.sh --tag T --node-tag T-next --load;
# the node image's second tag is what the upgrade test rolls the DaemonSet to).
#
# Which cluster:
#   - KUBECONFIG pointing at a reachable API server: that cluster. Images: the kit's `cluster load` when it is the kit's
#     cluster, `kind load docker-image` for a kind cluster (needs docker), otherwise set WARPDRIVE_E2E_IMAGE_REPO to a
#     registry you can push to and the script pushes with docker. The suite writes test data to a host directory and
#     reads /proc/mounts, so it runs on the (single) node itself: the kit, or a one-node cluster on this machine.
#   - else ../shared/k8s (the test kit, or WARPDRIVE_K8S_KIT): brought up here, and down again at the end.
# Phases: (1) tests/e2e category OperatorProcess: operators as processes against the API server, before the chart
# is installed (an installed operator would reconcile their resources too); (2) install the chart, category
# Installed: pods; (3) uninstall, category Uninstalled: no mount, no PV, no resource left.
set -uo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
kit="${WARPDRIVE_K8S_KIT:-$repo/../shared/k8s}"
results="$repo/artifacts/e2e-results"
keep=0
only=""
while [ $# -gt 0 ]; do
  case "$1" in
    --results) results="${2:?--results needs a directory}"; shift ;;
    --keep) keep=1 ;;
    --only) only="${2:?--only needs a test name}"; shift ;;
    -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "e2e: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
mkdir -p "$results"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
started=$(date +%s)
release=warpdrive
ns=warpdrive-system
host_dir=/var/lib/warpdrive-e2e
log() { echo "e2e: $*" >&2; }

# --- the cluster -----------------------------------------------------------------------------------------------
cluster_started=0
on_kit=0
if [ -n "${KUBECONFIG:-}" ] && command -v kubectl >/dev/null && kubectl version --request-timeout=5s >/dev/null 2>&1; then
  log "using the cluster of KUBECONFIG=$KUBECONFIG"
  [ -x "$kit/cluster" ] && [ "$KUBECONFIG" = "$("$kit/cluster" env | sed -n 's/^export KUBECONFIG=//p')" ] && on_kit=1
elif [ -x "$kit/cluster" ]; then
  log "bringing up the test cluster of $kit"
  env_lines="$("$kit/cluster" up)" || { log "cluster up failed"; exit 1; }
  eval "$env_lines"
  cluster_started=1
  on_kit=1
else
  log "no cluster: set KUBECONFIG, or put the test kit at ../shared/k8s"
  exit 2
fi
[ "$on_kit" = 1 ] && eval "$("$kit/cluster" env)" # kubectl and helm-template on PATH

node_ip="$(kubectl get nodes -o jsonpath='{.items[0].status.addresses[?(@.type=="InternalIP")].address}')"
# WARPDRIVE_E2E_TAG: images already built (hack/images.sh --tag T --load) and on the node; skips the image build.
tag="${WARPDRIVE_E2E_TAG:-e2e-$(git rev-parse --short HEAD 2>/dev/null || echo local)}"

# --- images -----------------------------------------------------------------------------------------------------
if [ "$on_kit" = 1 ]; then
  if [ -z "${WARPDRIVE_E2E_TAG:-}" ]; then
    log "building images $tag on the kit's base image"
    "$repo/hack/images.sh" --tag "$tag" --node-tag "$tag-next" --load >/dev/null || { log "image build failed"; exit 1; }
  fi
  image_repo=localhost
  pod_image=localhost/debian:bookworm
elif kubectl config current-context | grep -q '^kind-'; then
  cluster_name="$(kubectl config current-context | sed 's/^kind-//')"
  docker build -q -f Dockerfile.node -t "warpdrive/warpdrive-node:$tag" . >/dev/null &&
    docker build -q -f Dockerfile.operator -t "warpdrive/warpdrive-operator:$tag" . >/dev/null &&
    docker tag "warpdrive/warpdrive-node:$tag" "warpdrive/warpdrive-node:$tag-next" &&
    kind load docker-image --name "$cluster_name" "warpdrive/warpdrive-node:$tag" "warpdrive/warpdrive-node:$tag-next" "warpdrive/warpdrive-operator:$tag" ||
    { log "image build/load failed"; exit 1; }
  image_repo=warpdrive
  pod_image="${WARPDRIVE_E2E_POD_IMAGE:-debian:bookworm-slim}"
else
  image_repo="${WARPDRIVE_E2E_IMAGE_REPO:?set WARPDRIVE_E2E_IMAGE_REPO to a registry the cluster pulls from}"
  for c in node operator; do
    docker build -q -f "Dockerfile.$c" -t "$image_repo/warpdrive-$c:$tag" . >/dev/null &&
      docker push -q "$image_repo/warpdrive-$c:$tag" >/dev/null || { log "image build/push failed"; exit 1; }
  done
  docker tag "$image_repo/warpdrive-node:$tag" "$image_repo/warpdrive-node:$tag-next" &&
    docker push -q "$image_repo/warpdrive-node:$tag-next" >/dev/null || { log "image push failed"; exit 1; }
  pod_image="${WARPDRIVE_E2E_POD_IMAGE:-debian:bookworm-slim}"
fi

# --- the chart, as a user installs it -----------------------------------------------------------------------------
chart_values=(
  --set "operator.image.repository=$image_repo/warpdrive-operator" --set "operator.image.tag=$tag"
  --set "node.image.repository=$image_repo/warpdrive-node" --set "node.image.tag=$tag"
  # No StorageClass on a bare test cluster: the control plane's SQLite file in an emptyDir.
  --set controlPlane.persistence.enabled=false
  --set cache.size=2GB
  # The local source of the tests lives here on the node.
  --set "node.hostPaths={$host_dir}"
  # The e2e's reader identity for the control plane's REST API (usage by user).
  --set "controlPlane.readers={system:serviceaccount:$ns:warpdrive-e2e-reader}"
)
[ "$image_repo" = localhost ] && chart_values+=(--set operator.image.pullPolicy=Never --set node.image.pullPolicy=Never)

install_chart() {
  if command -v helm >/dev/null; then
    helm upgrade --install "$release" charts/warpdrive -n "$ns" --create-namespace "${chart_values[@]}" --wait --timeout 5m
  else
    kubectl create namespace "$ns" --dry-run=client -o yaml | kubectl apply -f - >/dev/null &&
      helm-template template "$release" charts/warpdrive -n "$ns" --include-crds "${chart_values[@]}" |
      kubectl apply --server-side --force-conflicts -f - >/dev/null
  fi
}

uninstall_chart() {
  # Data sources first, while the operator still runs to take its finalizers off (PVs, node configs).
  kubectl delete warpcachewarms,warpdatasources --all-namespaces --all --wait=true --timeout=120s >/dev/null 2>&1
  if command -v helm >/dev/null; then
    helm uninstall "$release" -n "$ns" --wait --timeout 3m >/dev/null 2>&1
  else
    helm-template template "$release" charts/warpdrive -n "$ns" --include-crds "${chart_values[@]}" |
      kubectl delete --ignore-not-found --wait=true --timeout=180s -f - >/dev/null 2>&1
  fi
  kubectl delete namespace "$ns" --ignore-not-found --wait=true --timeout=120s >/dev/null 2>&1
}

host_dir_mounted=0
cleanup() {
  local code=$?
  if [ "$keep" = 0 ]; then
    [ "${installed:-0}" = 1 ] && uninstall_chart
    [ "$host_dir_mounted" = 1 ] && umount "$host_dir" 2>/dev/null
    [ "$cluster_started" = 1 ] && "$kit/cluster" down >/dev/null 2>&1
  else
    log "kept: chart release $release in $ns${cluster_started:+, the cluster (\"$kit/cluster down\" stops it)}"
  fi
  log "wall time $(( $(date +%s) - started ))s"
  exit "$code"
}
trap cleanup EXIT

# The local source's directory, as a shared mount (like an NFS mount point on a systemd host) so the agent's
# HostToContainer mount of it is allowed where / is a private mount.
mkdir -p "$host_dir"
if ! findmnt -n -o PROPAGATION --target "$host_dir" | grep -q shared; then
  mount --bind "$host_dir" "$host_dir" && mount --make-shared "$host_dir" && host_dir_mounted=1
fi

bash "$repo/hack/deps.sh" >/dev/null || { log "dependency installation failed"; exit 1; }
dotnet build tests/e2e -c Debug -nologo -clp:ErrorsOnly >/dev/null || { log "build of tests/e2e failed"; exit 1; }

status=0
run_tests() { # run_tests <category> <trx name>
  log "tests: $1"
  WARPDRIVE_E2E_RELEASE_NAMESPACE="$ns" WARPDRIVE_E2E_POD_IMAGE="$pod_image" WARPDRIVE_E2E_HOST_DIR="$host_dir" \
    WARPDRIVE_E2E_NODE_IP="$node_ip" WARPDRIVE_E2E_UNINSTALLED="${uninstalled:-0}" \
    WARPDRIVE_E2E_UPGRADE_IMAGE="$image_repo/warpdrive-node:$tag-next" \
    timeout 1800 dotnet test tests/e2e --no-build -c Debug -nologo --filter "Category=$1${only:+&FullyQualifiedName~$only}" \
      --logger "trx;LogFileName=$2.trx" --logger "console;verbosity=normal" --results-directory "$results" \
      --blame-hang-timeout 10m || status=1
}

run_tests OperatorProcess e2e-operator-process

log "installing the chart ($tag)"
installed=1
if ! install_chart; then
  log "chart installation failed"; exit 1
fi
kubectl -n "$ns" rollout status deployment/warpdrive-operator --timeout=300s >&2 &&
  kubectl -n "$ns" rollout status daemonset/warpdrive-node --timeout=300s >&2 ||
  { log "the chart's workloads did not become ready"; kubectl -n "$ns" get pods -o wide >&2; status=1; }
run_tests Installed e2e-installed

if [ "$keep" = 0 ]; then
  log "uninstalling"
  uninstall_chart
  installed=0
  uninstalled=1 run_tests Uninstalled e2e-uninstalled
fi
exit "$status"
