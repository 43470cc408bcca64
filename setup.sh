#!/usr/bin/env bash
# Sets lightreasoner up on a fresh machine; safe to run again (it skips what is done).
#   1. OpenBLAS, the fast matrix library (optional: without it everything runs, several times slower).
#      Installed with apt-get when this is a Debian/Ubuntu machine and we are root or have sudo.
#   2. npm dependencies (npm ci, from package-lock.json) and the native addon (built by npm's install step).
#   3. The TypeScript build (dist/).
# Options: --with-torch also installs Debian's python3-torch, the baseline `npm run bench` compares against.
set -euo pipefail
cd "$(dirname "$0")"

want_torch=0
for a in "$@"; do
  case "$a" in
    --with-torch) want_torch=1 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "setup.sh: unknown option $a" >&2; exit 2 ;;
  esac
done

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo "$@"; else return 1; fi
}

apt_install() {
  command -v apt-get >/dev/null 2>&1 || return 1
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 && return 0
  as_root apt-get update -qq >/dev/null 2>&1 || true
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}

have_openblas() {
  ldconfig -p 2>/dev/null | grep -q 'libopenblas\.so' && return 0
  # macOS / Homebrew
  [ -e /opt/homebrew/opt/openblas/lib/libopenblas.dylib ] || [ -e /usr/local/opt/openblas/lib/libopenblas.dylib ]
}

if have_openblas; then
  echo "setup: OpenBLAS found"
elif apt_install libopenblas-dev; then
  echo "setup: installed OpenBLAS (libopenblas-dev)"
else
  echo "setup: note: OpenBLAS is not installed and could not be installed here; lightreasoner will run on its portable kernels (slower)."
  echo "setup:       to get the fast path: apt-get install libopenblas-dev (Debian/Ubuntu) or brew install openblas (macOS)"
fi

if [ "$want_torch" = 1 ]; then
  if [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import torch' 2>/dev/null; then echo "setup: python3-torch found"
  elif apt_install python3-torch; then echo "setup: installed python3-torch (benchmark baseline)"
  else echo "setup: note: could not install python3-torch; npm run bench will report our side only"; fi
fi

# npm ci only when the lockfile changed since the last successful setup (it wipes node_modules).
stamp=node_modules/.lightreasoner-setup
lock_sum=$( (sha256sum package-lock.json 2>/dev/null || shasum -a 256 package-lock.json) | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$lock_sum" ] && [ -e build/Release/lightreasoner_native.node ]; then
  echo "setup: npm dependencies up to date"
else
  echo "setup: installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
  echo "$lock_sum" > "$stamp"
fi

echo "setup: building (tsc)"
npm run build --silent
node bin/lightreasoner.js doctor | sed 's/^/setup: /' | head -4
