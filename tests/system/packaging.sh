#!/usr/bin/env bash
# ctest "packaging": the Debian packages of cmake/Packaging.cmake, built by CPack from the build
# tree, checked by lintian (no errors), their files by desktop-file-validate, appstreamcli,
# systemd-analyze and man; then the packaged anonchat-server, extracted with dpkg-deb -x, runs
# with its systemd unit's ExecStart flags (a temporary --db, --port 0) and /healthz answers 200.
# It fails, never skips, when a tool is missing: scripts/setup.sh --test installs them.
#   packaging.sh CPACK BUILD_DIR VERSION
set -euo pipefail
cpack=$1
build=$2
version=$3
app_id=io.github.anonchat.Anonchat
export QT_QPA_PLATFORM=offscreen # anonchat --help and --version make a QApplication

fail() {
    echo "FAIL: $*" >&2
    exit 1
}
for tool in "$cpack" dpkg-deb dpkg-shlibdeps strip file gzip lintian desktop-file-validate \
    appstreamcli systemd-analyze man; do
    command -v "$tool" >/dev/null || fail "'$tool' is missing (scripts/setup.sh --test installs it)"
done

tmp=$(mktemp -d)
server_pid=""
cleanup() {
    [[ -n $server_pid ]] && kill -KILL "$server_pid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT

# ---- build the packages ------------------------------------------------------------------------
echo "== cpack"
"$cpack" --config "$build/CPackConfig.cmake" -B "$tmp/out" >"$tmp/cpack.log" 2>&1 ||
    { cat "$tmp/cpack.log"; fail "cpack"; }
server_deb=$(echo "$tmp"/out/anonchat-server_"$version"-*_*.deb)
client_deb=$(echo "$tmp"/out/anonchat_"$version"-*_*.deb)
[[ -f $server_deb ]] || fail "no anonchat-server package: $(ls "$tmp/out")"
[[ -f $client_deb ]] || fail "no anonchat package: $(ls "$tmp/out")"

echo "== lintian"
# Errors fail the test; warnings and the rest are printed.
lintian --fail-on error --display-info --tag-display-limit 0 "$server_deb" "$client_deb" ||
    fail "lintian reports errors"

# ---- control fields: dpkg-shlibdeps' libraries plus the plug-ins it cannot see ----------------
field() { dpkg-deb -f "$1" "$2"; }
[[ $(field "$server_deb" Package) == anonchat-server ]] || fail "server package name"
[[ $(field "$client_deb" Package) == anonchat ]] || fail "client package name"
for deb in "$server_deb" "$client_deb"; do
    depends=$(field "$deb" Depends)
    for dep in libc6 libqt6core6 libqt6network6 libqt6sql6-sqlite; do
        [[ $depends == *"$dep"* ]] || fail "$(basename "$deb"): Depends lacks $dep: $depends"
    done
    [[ $(field "$deb" Section) == net ]] || fail "$(basename "$deb"): Section"
done
[[ $(field "$client_deb" Depends) == *libqt6widgets6* ]] || fail "anonchat: Depends lacks Qt Widgets"
[[ $(field "$server_deb" Depends) != *libqt6widgets6* ]] || fail "anonchat-server needs Qt Widgets"

# ---- the files ---------------------------------------------------------------------------------
require_files() { # deb, then the paths it must contain (and nothing of the other package)
    local deb=$1 list
    shift
    list=$(dpkg-deb -c "$deb" | awk '{print $NF}')
    for path in "$@"; do
        grep -qx "./$path" <<<"$list" || fail "$(basename "$deb") lacks /$path"
    done
}
require_files "$server_deb" usr/bin/anonchat-server usr/share/man/man1/anonchat-server.1.gz \
    usr/lib/systemd/system/anonchat-server.service usr/share/doc/anonchat-server/copyright \
    usr/share/doc/anonchat-server/changelog.Debian.gz
icons=(usr/share/icons/hicolor/scalable/apps/anonchat.svg)
for size in 16 24 32 48 64 128 256; do
    icons+=("usr/share/icons/hicolor/${size}x${size}/apps/anonchat.png")
done
require_files "$client_deb" usr/bin/anonchat usr/share/man/man1/anonchat.1.gz \
    "usr/share/applications/$app_id.desktop" "usr/share/metainfo/$app_id.metainfo.xml" \
    "${icons[@]}" usr/share/doc/anonchat/copyright usr/share/doc/anonchat/changelog.Debian.gz
! dpkg-deb -c "$server_deb" | grep -q 'usr/bin/anonchat$' || fail "anonchat-server ships anonchat"
! dpkg-deb -c "$client_deb" | grep -q 'anonchat-server' || fail "anonchat ships server files"

root=$tmp/root
dpkg-deb -x "$server_deb" "$root"
dpkg-deb -x "$client_deb" "$root"

echo "== desktop file, metainfo, icons"
desktop=$root/usr/share/applications/$app_id.desktop
desktop-file-validate "$desktop" || fail "desktop-file-validate"
appstreamcli validate --no-net "$root/usr/share/metainfo/$app_id.metainfo.xml" ||
    fail "appstreamcli validate"
grep -q "<id>$app_id</id>" "$root/usr/share/metainfo/$app_id.metainfo.xml" || fail "metainfo id"
grep -q "<launchable type=\"desktop-id\">$app_id.desktop</launchable>" \
    "$root/usr/share/metainfo/$app_id.metainfo.xml" || fail "metainfo launchable"
grep -q "<release version=\"$version\"" "$root/usr/share/metainfo/$app_id.metainfo.xml" ||
    fail "metainfo release is not $version"
exec_bin=$(sed -n 's/^Exec=\([^ ]*\).*/\1/p' "$desktop")
[[ -x $root/usr/bin/$exec_bin ]] || fail "Exec=$exec_bin is not a packaged program"
icon=$(sed -n 's/^Icon=//p' "$desktop")
for path in "${icons[@]}"; do
    [[ $(basename "$path") == "$icon".* ]] || fail "Icon=$icon but the package has $path"
    if [[ $path == *.png ]]; then
        size=$(basename "$(dirname "$(dirname "$path")")") # 48x48
        file -b "$root/$path" | grep -q "PNG image data, ${size/x/ x }," ||
            fail "$path is not a ${size} PNG: $(file -b "$root/$path")"
    else
        file -b "$root/$path" | grep -qi "SVG" || fail "$path is not an SVG"
    fi
done

echo "== man pages"
# The packaged programs' --help flags are all in their man pages.
check_man() { # program, man page
    local page=$1.1.gz text flags
    man --warnings -E UTF-8 -l -Tutf8 -Z "$root/usr/share/man/man1/$page" 2>"$tmp/man.err" \
        >/dev/null || fail "man $page"
    [[ ! -s $tmp/man.err ]] || fail "man $page warns: $(cat "$tmp/man.err")"
    text=$(gzip -dc "$root/usr/share/man/man1/$page" | sed 's/\\-/-/g')
    flags=$("$root/usr/bin/$1" --help | grep -o -- '--[a-z][a-z-]*' | sort -u)
    [[ $(wc -l <<<"$flags") -ge 10 ]] || fail "$1 --help lists too few flags: $flags"
    for flag in $flags; do
        grep -qE -- "$flag([^a-z-]|\$)" <<<"$text" || fail "$page does not document $flag"
    done
}
check_man anonchat-server
check_man anonchat
[[ $("$root/usr/bin/anonchat" --version) == "anonchat $version" ]] || fail "anonchat --version"

echo "== systemd unit"
unit=$root/usr/lib/systemd/system/anonchat-server.service
for directive in DynamicUser=yes StateDirectory=anonchat ProtectSystem=strict NoNewPrivileges=yes \
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX" Restart=on-failure \
    WantedBy=multi-user.target "Documentation=man:anonchat-server(1)"; do
    grep -qx "$directive" "$unit" || fail "the unit lacks $directive"
done
# The unit with ExecStart pointing into the extracted tree (and its man page there) is valid.
mkdir "$tmp/units"
sed "s|^ExecStart=/usr/bin/|ExecStart=$root/usr/bin/|" "$unit" >"$tmp/units/anonchat-server.service"
MANPATH=$root/usr/share/man systemd-analyze verify "$tmp/units/anonchat-server.service" ||
    fail "systemd-analyze verify"

echo "== the packaged server with the unit's ExecStart"
read -ra words <<<"$(sed -n 's/^ExecStart=//p' "$unit")"
[[ ${words[0]} == /usr/bin/anonchat-server ]] || fail "ExecStart runs ${words[0]}"
args=()
for ((i = 1; i < ${#words[@]}; i++)); do
    # shellcheck disable=SC2016 # '$ANONCHAT_OPTIONS' is the unit's literal word
    case ${words[i]} in
    --db)
        # The database in the StateDirectory: /var/lib/anonchat.
        [[ ${words[i + 1]} == /var/lib/anonchat/* ]] || fail "--db ${words[i + 1]}"
        args+=(--db "$tmp/state/chat.db")
        i=$((i + 1))
        ;;
    '$ANONCHAT_OPTIONS') args+=(--port 0) ;; # the drop-in's flags come last and win
    *) args+=("${words[i]}") ;;
    esac
done
[[ " ${args[*]} " == *" --port 0 "* ]] || fail "ExecStart has no \$ANONCHAT_OPTIONS"
mkdir "$tmp/state"
echo "anonchat-server ${args[*]}"
"$root/usr/bin/anonchat-server" "${args[@]}" >"$tmp/server.out" 2>"$tmp/server.err" &
server_pid=$!
for _ in $(seq 300); do
    [[ -s $tmp/server.out ]] && break
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
line=$(head -n1 "$tmp/server.out")
[[ $line =~ ^anonchat-server\ listening\ on\ http://127\.0\.0\.1:([0-9]+)/$ ]] ||
    fail "first line '$line'; stderr: $(cat "$tmp/server.err")"
port=${BASH_REMATCH[1]}
[[ $port != 0 && $port != 5000 ]] || fail "--port 0 did not override the unit's port: $port"

http_get() { # path -> the response; bash's /dev/tcp (no curl on a fresh Debian)
    exec 3<>"/dev/tcp/127.0.0.1/$port"
    printf 'GET %s HTTP/1.1\r\nHost: 127.0.0.1:%s\r\nConnection: close\r\n\r\n' "$1" "$port" >&3
    timeout 10 cat <&3
    exec 3<&-
}
status=$(http_get /healthz | head -n1 | tr -d '\r')
[[ $status == "HTTP/1.1 200"* ]] || fail "/healthz: '$status'"
http_get /metrics | grep -q '^anonchat_connections ' || fail "/metrics has no anonchat_connections"
[[ -f $tmp/state/chat.db ]] || fail "no database at the --db path"

kill -TERM "$server_pid"
code=0
wait "$server_pid" || code=$?
server_pid=""
[[ $code == 0 ]] || fail "anonchat-server exited $code on SIGTERM; stderr: $(cat "$tmp/server.err")"
echo "packaging: all checks passed"
