#!/usr/bin/env bash
# Builds one command from a pinned tools module (hack/tools/<group>) into an output path,
# printing progress while a cold build runs: the first build of the control plane takes
# many minutes on a small machine, and silence looks like a hang.
#
# usage: hack/build-tool.sh GROUP OUTPUT PACKAGE [GO BUILD FLAGS...]
set -euo pipefail

group=$1 out=$2 pkg=$3
shift 3
root=$(cd "$(dirname "$0")/.." && pwd)
moddir=$root/hack/tools/$group
case $out in /*) ;; *) out=$root/$out ;; esac

mkdir -p "$(dirname "$out")"
start=$(date +%s)
echo "==> building $(basename "$out") from $pkg (tools module hack/tools/$group)"
(
	cd "$moddir"
	CGO_ENABLED=${CGO_ENABLED:-0} go build -trimpath -o "$out.tmp" "$@" "$pkg"
) &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
	for _ in $(seq 30); do
		sleep 1
		kill -0 "$pid" 2>/dev/null || break
	done
	kill -0 "$pid" 2>/dev/null && echo "    ... still building $(basename "$out") ($(( $(date +%s) - start ))s)"
done
if ! wait "$pid"; then
	rm -f "$out.tmp"
	echo "error: building $(basename "$out") from hack/tools/$group failed (see the compiler output above)" >&2
	exit 1
fi
mv "$out.tmp" "$out"
echo "    built $(basename "$out") in $(( $(date +%s) - start ))s"
