#!/usr/bin/env bash
# Builds the two WarpDrive images without a container engine or a registry, for air-gapped machines and for the
# e2e suite: the same content as Dockerfile.node / Dockerfile.operator (Debian bookworm, the ASP.NET Core runtime in
# /usr/share/dotnet, the published app in /app; the node image adds fuse3, rclone and ca-certificates), packed on the
# Debian base image of the Kubernetes test kit (../shared/k8s: `cluster base-image`, `cluster mkimage`).
#
# Usage: hack/images.sh [--tag TAG] [--node-tag TAG2] [--out DIR] [--load]
#   --tag TAG       image tag (default: dev-<commit>); images are localhost/warpdrive-node:TAG, localhost/warpdrive-operator:TAG
#   --node-tag TAG2 the node image also as localhost/warpdrive-node:TAG2 (the e2e upgrades the DaemonSet to it)
#   --out DIR       where the docker-archive tars go (default: artifacts/images)
#   --load          import them into the kit's containerd (the kit's node must be up)
# Prints the image references on stdout, progress on stderr. Needs root (debootstrap, like the kit).
# With a registry, `docker build -f Dockerfile.node .` builds the equivalent image; see README "On Kubernetes".
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
kit="${WARPDRIVE_K8S_KIT:-$repo/../shared/k8s}"
tag="dev-$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo local)"
out="$repo/artifacts/images"
load=0
node_tag=""
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag="${2:?--tag needs a value}"; shift ;;
    --node-tag) node_tag="${2:?--node-tag needs a value}"; shift ;;
    --out) out="${2:?--out needs a directory}"; shift ;;
    --load) load=1 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "images: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
[ -x "$kit/cluster" ] || { echo "images: the Kubernetes kit is not at $kit (set WARPDRIVE_K8S_KIT)" >&2; exit 2; }
cluster="$kit/cluster"
log() { echo "images: $*" >&2; }
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

# The node image's Debian packages go into the base layer (debootstrap --include, cached by the kit), as the
# Dockerfile's apt-get line does. Both images share that one base layer.
export WD_CLUSTER_BASE_INCLUDE="ca-certificates,fuse3,rclone"
"$cluster" base-image >/dev/null

dotnet_root="$(dirname "$(readlink -f "$(command -v dotnet)")")"
runtime_version="$(dotnet --list-runtimes | awk '$1 == "Microsoft.AspNetCore.App" {v=$2} END {print v}')"
[ -n "$runtime_version" ] || { echo "images: no ASP.NET Core runtime in $dotnet_root" >&2; exit 1; }

work="$(mktemp -d "${TMPDIR:-/tmp}/warpdrive-images.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$out"

# The runtime exactly as the official aspnet image lays it out: /usr/share/dotnet with the host and both frameworks.
stage_runtime() { # stage_runtime <ctx>
  local ctx=$1
  mkdir -p "$ctx/usr/share/dotnet/shared" "$ctx/usr/bin"
  cp -a "$dotnet_root/dotnet" "$dotnet_root/host" "$ctx/usr/share/dotnet/"
  for fw in Microsoft.NETCore.App Microsoft.AspNetCore.App; do
    mkdir -p "$ctx/usr/share/dotnet/shared/$fw"
    cp -a "$dotnet_root/shared/$fw/$runtime_version" "$ctx/usr/share/dotnet/shared/$fw/"
  done
  ln -s ../share/dotnet/dotnet "$ctx/usr/bin/dotnet"
}

build() { # build <name> <tags> <project> <entrypoint> [mkimage options...]; <tags> is space-separated
  local name=$1 tags=$2 project=$3 entry=$4 ctx="$work/$1" t
  shift 4
  log "publishing $project"
  dotnet publish "$repo/$project" -c Release -nologo -clp:ErrorsOnly -o "$ctx/app" \
    --artifacts-path "$work/artifacts-$name" >&2
  stage_runtime "$ctx"
  chown -R 0:0 "$ctx"
  for t in $tags; do
    local ref="localhost/$name:$t" tar="$out/$name-$t.tar"
    rm -f "$tar"
    "$cluster" mkimage --base --entrypoint "[\"/app/$entry\"]" --workdir /app \
      --env DOTNET_ROOT=/usr/share/dotnet --env DOTNET_RUNNING_IN_CONTAINER=true "$@" "$ref" "$ctx" "$tar" >&2
    log "$ref -> $tar ($(du -h "$tar" | cut -f1))"
    [ "$load" = 0 ] || "$cluster" load "$tar" >/dev/null
    echo "$ref"
  done
}

# The operator embeds the control plane, which serves the dashboard: its build (dashboard/dist) is published with it.
bash "$repo/hack/dashboard.sh" >&2

build warpdrive-node "$tag $node_tag" csi-node/WarpDrive.Node/WarpDrive.Node.csproj warpdrive-node
# Same uid as the Deployment's runAsUser: the operator needs no root.
build warpdrive-operator "$tag" operator/WarpDrive.Operator/WarpDrive.Operator.csproj warpdrive-operator --user 65532:65532
