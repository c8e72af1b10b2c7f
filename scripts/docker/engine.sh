#!/usr/bin/env bash
# A local Docker engine for the container smoke test, on a machine without one.
#
#   engine.sh start   install docker.io (apt) if missing; start dockerd if no engine answers
#   engine.sh base    make sure debian:bookworm-slim exists: pull it, or else build it locally with
#                     debootstrap (installed via apt if missing)
#   engine.sh stop    stop dockerd, but only if `start` started it
#
# The engine runs without a bridge or iptables rules (--bridge=none --iptables=false): builds and
# containers use `--network host`, so nothing is ever sent to a private-range address. No image
# registry is reachable here, so the base image is bootstrapped from the Debian mirror apt already
# uses and `docker import`ed under the same name the Dockerfile starts FROM. Where an engine runs and
# images can be pulled (GitHub's runners), start does nothing and base just pulls.
set -euo pipefail

STATE_DIR="${MT_DOCKER_STATE:-/var/tmp/multitask-docker}"   # data-root, pidfile, log, marker
PIDFILE="$STATE_DIR/dockerd.pid"
MARKER="$STATE_DIR/started-by-engine-sh"                     # holds the pid of the dockerd we started
LOG="$STATE_DIR/dockerd.log"
BASE_IMAGE="${BASE_IMAGE:-debian:bookworm-slim}"
SUITE="${DEBIAN_SUITE:-bookworm}"

say() { echo "[engine] $*"; }
die() { echo "[engine] error: $*" >&2; exit 1; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

engine_up() { docker info >/dev/null 2>&1; }

# apt_install COMMAND PACKAGE: install PACKAGE when COMMAND is not found.
apt_install() {
    command -v "$1" >/dev/null 2>&1 && return 0
    say "installing $2 (apt)"
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$2" >/dev/null
}

start() {
    if engine_up; then
        say "an engine is already running; using it"
        return 0
    fi
    apt_install dockerd docker.io
    as_root mkdir -p "$STATE_DIR/data"
    say "starting dockerd (data-root $STATE_DIR/data, log $LOG)"
    # The daemon is detached from the caller entirely: `setsid --fork` makes it a new session that
    # init adopts (no shell of ours waits on it), and no process of it keeps the caller's stdout or
    # stderr open: a caller that reads this script's output to its end (a test's captured pipe, a
    # CI log) would otherwise wait on dockerd for ever. The log is opened by the root shell (the
    # state folder is root's).
    # shellcheck disable=SC2016  # $1..$3 expand in the inner shell
    as_root setsid --fork sh -c 'exec dockerd --data-root "$1" --pidfile "$2" \
        --bridge=none --iptables=false --ip6tables=false >"$3" 2>&1 </dev/null' \
        dockerd "$STATE_DIR/data" "$PIDFILE" "$LOG" </dev/null >/dev/null 2>&1
    local t0=$SECONDS
    while [ $((SECONDS - t0)) -lt 60 ]; do
        if engine_up && [ -s "$PIDFILE" ]; then
            as_root cp "$PIDFILE" "$MARKER"
            say "engine ready after $((SECONDS - t0)) s (pid $(cat "$PIDFILE"))"
            return 0
        fi
        sleep 0.5
    done
    tail -n 20 "$LOG" >&2 || true
    die "dockerd did not answer within 60 s"
}

stop() {
    if [ ! -f "$MARKER" ]; then
        say "no engine started by this script; nothing to stop"
        return 0
    fi
    local pid
    pid="$(cat "$MARKER")"
    if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -q "dockerd"; then
        say "stopping dockerd (pid $pid)"
        as_root kill -TERM "$pid"
        local i
        for i in $(seq 1 30); do
            [ -d "/proc/$pid" ] || break
            sleep 1
        done
        [ ! -d "/proc/$pid" ] || die "dockerd (pid $pid) still running after 30 s"
    else
        say "dockerd (pid $pid) is no longer running"
    fi
    as_root rm -f "$MARKER"
}

# The first mirror apt uses for the main suite: deb822 sources first, then the one-line format.
debian_mirror() {
    local f uri=""
    for f in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list.d/*.sources; do
        [ -f "$f" ] || continue
        uri="$(awk '/^URIs:/ { for (i = 2; i <= NF; i++) if ($i !~ /security/) { print $i; exit } }' "$f")"
        [ -n "$uri" ] && break
    done
    if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
        uri="$(awk '$1 == "deb" && $0 !~ /security/ { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; exit } }' /etc/apt/sources.list)"
    fi
    [ -n "$uri" ] || die "cannot find a Debian mirror in /etc/apt/sources.list(.d)"
    echo "$uri"
}

base() {
    engine_up || die "no engine answers; run '$0 start' first"
    if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
        say "base image $BASE_IMAGE present"
        return 0
    fi
    if timeout 300 docker pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
        say "pulled $BASE_IMAGE"
        return 0
    fi
    say "cannot pull $BASE_IMAGE; building it with debootstrap"
    apt_install debootstrap debootstrap
    local mirror rootfs t0
    mirror="$(debian_mirror)"
    rootfs="$(mktemp -d "${TMPDIR:-/tmp}/mt-rootfs.XXXXXX")"
    # shellcheck disable=SC2064  # expand now: the trap must remove this very folder
    trap "as_root rm -rf '$rootfs'" EXIT
    t0=$SECONDS
    say "debootstrap --variant=minbase $SUITE from $mirror"
    as_root debootstrap --variant=minbase "$SUITE" "$rootfs" "$mirror" >"$STATE_DIR/debootstrap.log" 2>&1 \
        || { tail -n 20 "$STATE_DIR/debootstrap.log" >&2; die "debootstrap failed"; }
    # Make apt inside the image use what apt uses here (as the official image does, deb822 sources),
    # and trim what the slim image also leaves out.
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
        as_root cp /etc/apt/sources.list.d/debian.sources "$rootfs/etc/apt/sources.list.d/"
        as_root rm -f "$rootfs/etc/apt/sources.list"
    fi
    local conf
    for conf in /etc/apt/apt.conf.d/99*; do
        [ -f "$conf" ] && as_root cp "$conf" "$rootfs/etc/apt/apt.conf.d/"
    done
    as_root apt-get -o Dir="$rootfs" clean >/dev/null 2>&1 || true
    as_root rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* \
        "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/locale/*
    say "docker import -> $BASE_IMAGE"
    as_root tar -C "$rootfs" --numeric-owner -c . | docker import -c 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null
    say "base image built in $((SECONDS - t0)) s ($(docker image inspect -f '{{.Size}}' "$BASE_IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    base) base ;;
    *) echo "usage: $0 start|stop|base" >&2; exit 2 ;;
esac
