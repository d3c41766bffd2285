#!/usr/bin/env bash
# Builds the governance dashboard (dashboard/, React + Vite) into dashboard/dist, which the .NET build copies beside
# the control plane as dashboard/ (warpdrive-ctl serve and the operator serve it at /). Run it before dotnet build or
# publish; hack/test.sh, hack/images.sh and Dockerfile.operator do. Needs Node 20 and npm (packages from package-lock.json).
# Usage: hack/dashboard.sh [--install-only]
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo/dashboard"
command -v npm >/dev/null 2>&1 || { echo "dashboard: npm is missing; install Node.js 20.19 or later with npm (the control plane runs without the dashboard)" >&2; exit 1; }
# Vite 8 needs Node 20.19+ (or 22.12+); say so instead of failing deep inside the build.
node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>22||(a===22&&b>=12)||(a===20&&b>=19)?0:1)' \
  || { echo "dashboard: Node $(node --version) is too old; Vite needs 20.19+ or 22.12+" >&2; exit 1; }
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
