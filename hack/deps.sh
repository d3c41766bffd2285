#!/usr/bin/env bash
# Installs what the tests need on a fresh Debian machine of our kind (root, apt, npm); the demo needs only fuse3 and installs it itself.
# Idempotent: each step checks first. Sourced or run; safe to call many times.
# npm packages go to ./.tools (ignored by git) so nothing is installed globally.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

apt_updated=0
need_apt() { # need_apt <command> <package>
  command -v "$1" >/dev/null 2>&1 && return 0
  if [ "$apt_updated" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
    apt_updated=1
  fi
  echo "deps: installing $2" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

need_npm() { # need_npm <bin-name> <package@version>
  [ -x "$repo/.tools/node_modules/.bin/$1" ] && return 0
  echo "deps: installing $2 into .tools/" >&2
  mkdir -p "$repo/.tools"
  (cd "$repo/.tools" && [ -f package.json ] || echo '{"private":true}' > package.json)
  (cd "$repo/.tools" && npm install --no-audit --no-fund --silent "$2" >/dev/null)
}

# FUSE userspace helpers (fusermount3 for unprivileged mounts).
need_apt fusermount3 fuse3

# Backend test servers: S3 (s3rver), Azure Blob (azurite-blob), rclone (local remote).
need_npm s3rver s3rver@3.7.1
need_npm azurite-blob azurite@3.37.0
need_apt rclone rclone

# Deploy tests: systemd unit verification (offline), shell lint of the Slurm scripts, Ansible syntax and check runs.
need_apt systemd-analyze systemd
need_apt shellcheck shellcheck
need_apt ansible-playbook ansible-core
need_apt s3fs s3fs

# csi-sanity ships xz-compressed beside the repo (../shared/k8s/bin); test.sh unpacks it.
need_apt xz xz-utils

# PostgreSQL server binaries: the control plane tests start a throwaway cluster from /usr/lib/postgresql/*/bin.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || need_apt postgresql-server-binaries postgresql

# The dashboard: its npm packages (dashboard/node_modules, from package-lock.json; no browser download) and Debian's
# chromium, which the browser tests drive through playwright-core.
need_apt chromium chromium
bash "$repo/hack/dashboard.sh" --install-only
