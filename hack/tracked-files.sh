#!/usr/bin/env bash
# Fails when git tracks build output: an executable binary (ELF, Mach-O, PE)
# or a file over 1 MiB that hack/tracked-files.allow does not list with a
# reason. Build outputs go to bin/ and .work/, which git ignores.
#
# usage: hack/tracked-files.sh [REPO]   (default: this checkout)
set -euo pipefail

repo=${1:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$repo"
limit=$((1024 * 1024))
allow=hack/tracked-files.allow

# allowed PATH: the allow-list names PATH, followed by its reason.
allowed() {
	[ -f "$allow" ] && awk -v p="$1" '$1 == p && NF > 1 { found = 1 } END { exit !found }' "$allow"
}

# kind FILE: the binary format its first bytes announce, if any.
kind() {
	case $(head -c 4 "$1" | od -An -tx1 | tr -d ' \n') in
	7f454c46) echo "an ELF executable" ;;
	feedface | feedfacf | cefaedfe | cffaedfe | cafebabe) echo "a Mach-O executable" ;;
	4d5a*) if pe "$1"; then echo "a PE (Windows) executable"; fi ;;
	esac
}

# pe FILE: an MZ header whose e_lfanew (at 0x3c) points at "PE\0\0".
pe() {
	local off
	off=$(od -An -tu4 -j 60 -N 4 "$1" 2>/dev/null | tr -d ' ')
	[ -n "$off" ] && [ "$(od -An -tx1 -j "$off" -N 4 "$1" 2>/dev/null | tr -d ' \n')" = 50450000 ]
}

bad=0
while IFS= read -r -d '' f; do
	[ -f "$f" ] && [ ! -L "$f" ] || continue
	what=$(kind "$f")
	size=$(stat -c %s "$f")
	if [ -z "$what" ] && [ "$size" -gt "$limit" ]; then what="larger than 1 MiB ($size bytes)"; fi
	[ -n "$what" ] || continue
	allowed "$f" && continue
	echo "error: $f is tracked by git and is $what: build output belongs in bin/ or .work/ (ignored); run 'git rm --cached $f', or list it in $allow with the reason it must be tracked" >&2
	bad=1
done < <(git ls-files -z)
exit $bad
