#!/usr/bin/env bash
# Sets up, builds and starts anonchat: the desktop app where there is a display, otherwise the
# headless server (which prints its URL). Extra arguments go to the program.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh" "$root/build" -DANONCHAT_BUILD_TESTS=OFF
if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" && -x "$root/build/client/anonchat" ]]; then
    exec "$root/build/client/anonchat" "$@"
fi
exec "$root/build/server/anonchat-server" "$@"
