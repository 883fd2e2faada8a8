#!/usr/bin/env bash
# Make sure a Chromium the browser tests can drive is installed: Debian's package, through apt.
# Playwright (a test dependency from PyPI) drives it; its own browser download is never used.
set -euo pipefail
browser="${REELSERVE_TEST_CHROMIUM:-/usr/bin/chromium}"

[ -x "$browser" ] && exit 0
if command -v apt-get >/dev/null; then
    echo "installing Debian's chromium for the browser tests" >&2
    sudo_="" ; [ "$(id -u)" -eq 0 ] || sudo_="sudo"
    $sudo_ apt-get install -y -q chromium >/dev/null 2>&1 || { $sudo_ apt-get update -q >/dev/null && $sudo_ apt-get install -y -q chromium >/dev/null; }
fi
[ -x "$browser" ] && exit 0
echo "No Chromium at $browser: install Debian's chromium package, or point REELSERVE_TEST_CHROMIUM at one." >&2
exit 1
