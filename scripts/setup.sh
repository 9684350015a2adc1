#!/usr/bin/env bash
# Installs what anonchat needs on Debian 12, only what is missing.
#   scripts/setup.sh          build and run
#   scripts/setup.sh --test   also what the tests need (Node.js, Chromium, Xvfb, PostgreSQL, Redis, nginx)
set -euo pipefail

packages=(build-essential cmake ninja-build pkg-config
          qt6-base-dev qt6-websockets-dev qt6-tools-dev qt6-tools-dev-tools qt6-l10n-tools
          qt6-translations-l10n libqt6sql6-sqlite libqt6sql6-psql libgl-dev libhiredis-dev libsqlite3-dev
          # Text the app shows: Latin, Chinese (the zh_CN interface and users' messages) and emoji.
          # Without them Chinese renders as empty boxes and tst_mainwindow's wrapping test fails.
          fontconfig fonts-dejavu-core fonts-noto-cjk fonts-noto-color-emoji)
if [[ "${1:-}" == "--test" ]]; then
    packages+=(chromium xvfb xauth sqlite3 clang libclang-rt-14-dev openssl postgresql redis-server nginx lintian dpkg-dev desktop-file-utils appstream man-db file systemd)
    command -v node >/dev/null 2>&1 || packages+=(nodejs)
    command -v npm >/dev/null 2>&1 || packages+=(npm)
fi

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
