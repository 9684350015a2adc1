#!/usr/bin/env bash
# Screenshots of the real desktop window for the README:
# docs/screenshots/desktop-{en,zh_CN}-{light,dark}.png
#
# Builds anonchat-screenshot (client/tools/screenshot.cpp: the app's own MainWindow, hosting its
# server as `anonchat` does, chatting with a scripted stranger over the WebSocket) and runs it on
# a real X server (Xvfb) once per language and theme; it types into the window and grabs the
# window from the X server. Xvfb, xauth and the CJK and emoji fonts come from scripts/setup.sh.
#   scripts/screenshots.sh [BUILD_DIR]      (default: build-screenshots)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-screenshots}
out=$root/docs/screenshots

"$root/scripts/setup.sh" --test

if [[ -f "$build/CMakeCache.txt" ]]; then # an existing build keeps its settings
    cmake -S "$root" -B "$build" -DANONCHAT_BUILD_TESTS=ON >/dev/null
else
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DANONCHAT_BUILD_TESTS=ON >/dev/null
fi
cmake --build "$build" -j2 --target anonchat-screenshot

mkdir -p "$out"
status=0
for lang in en zh_CN; do
    for theme in light dark; do
        file=$out/desktop-$lang-$theme.png
        QT_QPA_PLATFORM=xcb LANG=C.UTF-8 xvfb-run -a -s "-screen 0 1280x900x24 -dpi 96" \
            "$build/client/anonchat-screenshot" --lang "$lang" --theme "$theme" --out "$file" \
            2> >(grep -v -E "XDG_RUNTIME_DIR|^anonchat\.(storage|server)" >&2)
        size=$(stat -c %s "$file")
        if ((size > 300 * 1024)); then
            echo "screenshots: $file is $((size / 1024)) KB (over 300 KB)" >&2
            status=1
        fi
    done
done
exit $status
