#!/usr/bin/env bash
# Make sure a Chromium for certificate rendering is present (Debian's `chromium` package where we can
# install it); otherwise say what to do. By default never fails the caller (the API runs without it);
# with --require (the test suite needs a real browser) a missing Chromium is an error.
set -uo pipefail
require=0
[ "${1:-}" = "--require" ] && require=1

found() { echo "Chromium for certificates: $1 ($("$1" --version 2>/dev/null | head -n1))"; exit 0; }

if [ -n "${CHROMIUM_PATH:-}" ]; then
  [ -x "$CHROMIUM_PATH" ] && found "$CHROMIUM_PATH"
  echo "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable file; looking for a system Chromium instead" >&2
fi
# The same places the renderer looks (common/certificates/renderer.py).
for candidate in /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome /usr/bin/google-chrome-stable \
                 /snap/bin/chromium "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"; do
  [ -x "$candidate" ] && found "$candidate"
done
for name in chromium chromium-browser google-chrome google-chrome-stable; do
  path=$(command -v "$name" 2>/dev/null) && found "$path"
done

if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Chromium not found: installing Debian's chromium package (a few minutes, once)"
  if apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; then
    [ -x /usr/bin/chromium ] && found /usr/bin/chromium
  fi
  echo "apt-get could not install chromium (on Ubuntu the package is a snap wrapper)." >&2
fi
cat >&2 <<'MSG'
No Chromium found. Certificate PDFs are printed by a Chromium on this machine:
  - Debian:        sudo apt-get install chromium
  - Ubuntu:        install Google Chrome (.deb) or `sudo snap install chromium`
  - macOS:         install Google Chrome; it is found in /Applications automatically
  - anywhere else: set CHROMIUM_PATH to a Chromium/Chrome binary (version 100 or newer)
Do not run `playwright install`: the renderer uses the system browser.
The API runs without it: certificates stay `pending`/`failed` until a Chromium is present, then an admin
re-triggers them (POST /api/admin/certificates/{id}/render).
MSG
exit "$require"
