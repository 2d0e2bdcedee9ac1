#!/usr/bin/env bash
# Reads tool versions from their one source, the tools modules' go.mod files
# (hack/tools/<group>/go.mod). It parses go.mod itself instead of running
# `go list -m`, so it needs no module cache and no network and costs nothing
# when the Makefile asks.
#
# usage: hack/tool-version.sh GROUP MODULE
#            print the version hack/tools/GROUP/go.mod pins MODULE at
#            (a `replace MODULE => OTHER VERSION` wins, as it does for go)
#        hack/tool-version.sh
#            print every command built from hack/tools (the imports of each
#            group's tools.go, or its own cmd/<name>) with version and module
# env:   none
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

# requirements GOMOD: one "MODULE VERSION direct|indirect" line per requirement,
# with versioned replacements applied.
requirements() {
	awk '
		function fields(line) { sub(/\/\/.*/, "", line); return split(line, f, /[ \t]+/) }
		/^[ \t]*\/\// { next }
		/^(require|replace)[ \t]*\(/ { block = $1; next }
		block != "" && /^[ \t]*\)/ { block = ""; next }
		{
			line = $0; indirect = line ~ /\/\/[ \t]*indirect/
			kind = block
			if (kind == "") {
				if ($1 != "require" && $1 != "replace") next
				kind = $1; sub(/^[ \t]*(require|replace)[ \t]+/, "", line)
			}
			n = fields(line); i = (f[1] == "") ? 2 : 1
			if (kind == "require" && n >= i + 1) {
				order[++count] = f[i]; version[f[i]] = f[i + 1]
				direct[f[i]] = indirect ? "indirect" : "direct"
			} else if (kind == "replace") {
				# OLD [VERSION] => NEW [VERSION]; a local NEW has no version.
				for (a = i; a <= n && f[a] != "=>"; a++) {}
				if (a + 2 <= n && f[a + 2] != "") replaced[f[i]] = f[a + 2]
			}
		}
		END {
			for (k = 1; k <= count; k++) {
				m = order[k]; v = (m in replaced) ? replaced[m] : version[m]
				print m, v, direct[m]
			}
		}' "$1"
}

# command_name PACKAGE: the name `go build` gives the command (a /vN suffix is skipped).
command_name() {
	local p=$1
	if [[ $(basename "$p") =~ ^v[0-9]+$ ]]; then p=$(dirname "$p"); fi
	basename "$p"
}

if [ $# -eq 2 ]; then
	gomod=$root/hack/tools/$1/go.mod
	[ -f "$gomod" ] || { echo "error: no tools module hack/tools/$1 (no go.mod)" >&2; exit 1; }
	v=$(requirements "$gomod" | awk -v m="$2" '$1 == m { print $2 }')
	[ -n "$v" ] || { echo "error: hack/tools/$1/go.mod does not require $2; add it there" >&2; exit 1; }
	echo "$v"
	exit 0
fi
[ $# -eq 0 ] || { echo "usage: hack/tool-version.sh [GROUP MODULE]" >&2; exit 2; }

printf '%-26s %-10s %s\n' COMMAND VERSION "MODULE (pinned in hack/tools/<group>/go.mod)"
for gomod in "$root"/hack/tools/*/go.mod; do
	dir=$(dirname "$gomod")
	group=$(basename "$dir")
	reqs=$(requirements "$gomod" | awk '$3 == "direct"')
	# Commands: what tools.go imports, each from the longest required module that
	# contains it; else the group's own cmd/<name> wrappers, from its direct requirements.
	imports=$(sed -n 's/^[ \t]*_[ \t]*"\([^"]*\)".*/\1/p; s/^import _ "\([^"]*\)".*/\1/p' "$dir"/*.go 2>/dev/null || true)
	if [ -n "$imports" ]; then
		while read -r pkg; do
			mv=$(awk -v p="$pkg" 'index(p "/", $1 "/") == 1 && length($1) > best { best = length($1); line = $1 " " $2 } END { print line }' <<<"$reqs")
			[ -n "$mv" ] || mv="$pkg ?"  # imported but not required: go.mod is incomplete
			printf '%-26s %-10s %s (%s)\n' "$(command_name "$pkg")" "${mv#* }" "${mv%% *}" "$group"
		done <<<"$imports"
	else
		for cmd in "$dir"/cmd/*/; do
			[ -d "$cmd" ] || continue
			while read -r m v _; do
				printf '%-26s %-10s %s (%s)\n' "$(basename "$cmd")" "$v" "$m" "$group"
			done <<<"$reqs"
		done
	fi
done
