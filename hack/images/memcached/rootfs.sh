#!/usr/bin/env bash
# Assembles the root filesystem of the operand image from Debian's memcached
# package (make deps installs it): the binary and the shared libraries it loads,
# nothing else (no shell, no package manager).
#
# usage: hack/images/memcached/rootfs.sh OUTDIR
set -euo pipefail
out=$1
bin=$(command -v memcached) || { echo "error: memcached is not installed (make deps installs Debian's package)" >&2; exit 1; }
rm -rf "$out" && mkdir -p "$out/usr/bin" "$out/tmp"
cp "$bin" "$out/usr/bin/memcached"
ldd "$bin" | awk '/=> \// {print $3} /^\t\/lib/ {print $1}' | while read -r lib; do
	mkdir -p "$out$(dirname "$lib")"
	cp -L "$lib" "$out$lib"
done
chmod 1777 "$out/tmp"
"$bin" -V | awk '{print $2}' >"$out.version"
