#!/usr/bin/env bash
# Builds the governance dashboard (dashboard/, React + Vite) into dashboard/dist, which the .NET build copies beside
# the control plane as dashboard/ (warpdrive-ctl serve and the operator serve it at /). Run it before dotnet build or
# publish; hack/test.sh, hack/images.sh and Dockerfile.operator do. Needs Node 20 and npm (packages from package-lock.json).
# Usage: hack/dashboard.sh [--install-only]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo/dashboard"
# Never let a package download a browser (the browser tests use Debian's chromium).
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 PUPPETEER_SKIP_DOWNLOAD=1
# npm ci only when the installed tree does not match the lock file (npm records it in node_modules/.package-lock.json).
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "dashboard: installing packages (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
fi
[ "${1:-}" = --install-only ] && exit 0
echo "dashboard: building dashboard/dist" >&2
npm run --silent build >&2
