#!/usr/bin/env bash
# End-to-end run on a throw-away kind cluster: create the cluster (kind-config.yaml), build and load both images,
# install the chart, apply the examples that need no cloud credentials, and run tests/e2e if it exists.
# Needs docker, kind, kubectl and helm on PATH, and /dev/fuse on the host. Not run by CI (no container engine there).
# Usage: hack/e2e-kind.sh [--keep]   (--keep leaves the cluster up for debugging)
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

cluster=warpdrive-e2e
tag="e2e-$(git rev-parse --short HEAD)"
keep=0
[ "${1:-}" = "--keep" ] && keep=1

for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null || { echo "e2e: $tool is required" >&2; exit 2; }
done
[ -c /dev/fuse ] || { echo "e2e: /dev/fuse is missing on this host" >&2; exit 2; }

cleanup() {
  if [ "$keep" = 0 ]; then
    kind delete cluster --name "$cluster" >/dev/null 2>&1 || true
  else
    echo "e2e: cluster $cluster kept (kind delete cluster --name $cluster)"
  fi
}
trap cleanup EXIT

echo "==> test data"
mkdir -p /tmp/warpdrive-e2e-data/train
for i in 0 1 2; do echo "sample $i" > "/tmp/warpdrive-e2e-data/train/sample-$i.txt"; done

echo "==> cluster"
kind get clusters | grep -qx "$cluster" || kind create cluster --config kind-config.yaml --wait 120s
kubectl config use-context "kind-$cluster"

echo "==> images"
docker build -f Dockerfile.node -t "warpdrive-node:$tag" .
docker build -f Dockerfile.operator -t "warpdrive-operator:$tag" .
kind load docker-image --name "$cluster" "warpdrive-node:$tag" "warpdrive-operator:$tag"

echo "==> chart"
helm upgrade --install warpdrive charts/warpdrive \
  --namespace warpdrive-system --create-namespace \
  --set operator.image.repository=warpdrive-operator --set operator.image.tag="$tag" \
  --set operator.image.pullPolicy=Never \
  --set node.image.repository=warpdrive-node --set node.image.tag="$tag" \
  --set node.image.pullPolicy=Never \
  --set cache.size=1GB \
  --wait --timeout 5m
kubectl -n warpdrive-system rollout status daemonset/warpdrive-node --timeout=3m
kubectl -n warpdrive-system rollout status deployment/warpdrive-operator --timeout=3m

echo "==> CEL validation rejects what the schema forbids"
if kubectl apply --dry-run=server -f - <<'YAML' 2>/tmp/warpdrive-e2e-cel.txt; then
apiVersion: warpdrive.io/v1alpha1
kind: WarpDataSource
metadata: {name: bad, namespace: default}
spec:
  backend: {type: s3, config: {bucket: b}}
  auth: {method: static}
YAML
  echo "e2e: a static source without secretRef was accepted" >&2; exit 1
fi
grep -q "spec.auth.secretRef is required" /tmp/warpdrive-e2e-cel.txt

echo "==> examples (local source only: the cloud ones need credentials)"
kubectl apply -f examples/namespace.yaml
kubectl apply -f examples/datasource-local.yaml
kubectl -n ml-team wait --for=condition=Ready wds/nfs-datasets --timeout=3m
for node in $(kubectl get nodes -l warpdrive.io/pool=gpu -o name); do
  kubectl -n warpdrive-system get configmap "warpdrive-node-${node#node/}" -o jsonpath='{.data.config\.yaml}' | grep -q "ml-team-nfs-datasets"
done
kubectl -n ml-team get pvc nfs-datasets -o jsonpath='{.status.phase}' | grep -qx Bound

if [ -d tests/e2e ]; then
  echo "==> tests/e2e"
  for project in tests/e2e/*.csproj tests/e2e/*/*.csproj; do
    [ -f "$project" ] || continue
    KUBECONFIG="${KUBECONFIG:-$HOME/.kube/config}" WARPDRIVE_E2E=1 dotnet test "$project" --artifacts-path /tmp/art-e2e
  done
fi
echo "e2e: passed"
