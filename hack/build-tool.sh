#!/usr/bin/env bash
# Builds commands from a pinned tools module (hack/tools/<group>) into bin/, printing
# progress while a cold build runs: the first build of the control plane takes many
# minutes on a small machine, and silence looks like a hang.
#
# usage: hack/build-tool.sh GROUP OUTPUT "PACKAGE..." [GO BUILD FLAGS...]
#   One package: OUTPUT is the binary's path. Several (one quoted list): OUTPUT is a
#   directory and each command lands there under its own name, all from one `go build`
#   so the packages they share compile and link once.
set -euo pipefail

group=$1 out=$2
read -r -a pkgs <<<"$3"
shift 3
root=$(cd "$(dirname "$0")/.." && pwd)
moddir=$root/hack/tools/$group
case $out in /*) ;; *) out=$root/$out ;; esac

if [ "${#pkgs[@]}" -gt 1 ]; then
	what="$(for p in "${pkgs[@]}"; do basename "$p"; done | paste -sd' ')"
	mkdir -p "$out"
	tmp=$(mktemp -d "$out/.build.XXXXXX")
	target=$tmp/
else
	what=$(basename "$out")
	mkdir -p "$(dirname "$out")"
	tmp=
	target=$out.tmp
fi
trap '[ -n "$tmp" ] && rm -rf "$tmp"; rm -f "$out.tmp"' EXIT

start=$(date +%s)
echo "==> building $what (tools module hack/tools/$group)"
(
	cd "$moddir"
	CGO_ENABLED=${CGO_ENABLED:-0} go build -trimpath -o "$target" "$@" "${pkgs[@]}"
) &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
	for _ in $(seq 30); do
		sleep 1
		kill -0 "$pid" 2>/dev/null || break
	done
	kill -0 "$pid" 2>/dev/null && echo "    ... still building $what ($(( $(date +%s) - start ))s)"
done
if ! wait "$pid"; then
	echo "error: building $what from hack/tools/$group failed (see the compiler output above)" >&2
	exit 1
fi
if [ -n "$tmp" ]; then
	for p in "${pkgs[@]}"; do mv "$tmp/$(basename "$p")" "$out/"; done
else
	mv "$out.tmp" "$out"
fi
echo "    built $what in $(( $(date +%s) - start ))s"
