#!/usr/bin/env bash
# Make sure a Chromium for certificate rendering (and pdftotext for the tests) is present.
set -euo pipefail
if [ -n "${CHROMIUM_PATH:-}" ] && [ -x "$CHROMIUM_PATH" ]; then exit 0; fi
for candidate in chromium chromium-browser google-chrome google-chrome-stable; do
  if command -v "$candidate" >/dev/null 2>&1; then
    command -v pdftotext >/dev/null 2>&1 || { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq poppler-utils >/dev/null 2>&1 || true; }
    exit 0
  fi
done
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "Chromium not found: installing Debian's chromium package"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium poppler-utils >/dev/null
  exit 0
fi
cat >&2 <<'MSG'
No Chromium found. Certificates are rendered by a Chromium on this machine:
  - Debian/Ubuntu: sudo apt-get install chromium   (or chromium-browser)
  - macOS: install Google Chrome and set CHROMIUM_PATH="/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"
  - or point CHROMIUM_PATH at any Chromium/Chrome binary.
The API runs without it; certificate renders stay 'pending' and are retried.
MSG
exit 0
