#!/usr/bin/env bash
# Fails when a generated file in the working tree is not what its make target
# makes of the working tree's inputs, and never writes the working tree: it copies
# the files git sees (tracked ones as they are on disk, edits included, and
# untracked ones that are not ignored) to a temporary directory, runs the
# generating targets there, and compares the generated paths only. Other
# untracked files do not matter; a stale file inside a generated directory does.
#
# usage: hack/verify.sh
# env:   LOCALBIN   where the tools are (default bin/); `make verify` builds
#                   controller-gen and kustomize there first
#        MAKE       the make to run (default make); MAKEFLAGS (e.g. VERSION=...
#                   given to `make verify`) reach the targets run in the copy
#        VERIFY_KEEP=1  keep the temporary copy and say where it is
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
targets="generate manifests fmt bundle catalog"
# What those targets write, as git pathspecs: fmt rewrites any Go file and
# generate writes api/**/zz_generated.*.go; manifests the CRDs and the
# manager's ClusterRole; bundle and catalog their directories.
generated=(':(glob)**/*.go' config/crd/bases config/rbac/role.yaml bundle bundle.Dockerfile catalog)
localbin=${LOCALBIN:-$root/bin}
case $localbin in /*) ;; *) localbin=$root/$localbin ;; esac

git rev-parse --is-inside-work-tree >/dev/null 2>&1 || {
	echo "error: verify: $root is not a git work tree; it copies the files git lists" >&2
	exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/memcached-operator-verify.XXXXXX")
if [ "${VERIFY_KEEP:-}" = 1 ]; then
	trap 'echo "verify: the copy is in $tmp/tree (make output: $tmp/make.log)"' EXIT
else
	trap 'rm -rf "$tmp"' EXIT
fi
tree=$tmp/tree
mkdir -p "$tree" "$tmp/work"
# The copy's own git index, outside the copy so that nothing run in it (go's
# VCS stamping) mistakes it for a repository.
g() { git --git-dir="$tmp/git" --work-tree="$tree" "$@"; }

hack/copy-tree.sh "$tree"

g init -q
g add -A
before=$(g write-tree)

echo "==> make $targets (in a copy of the working tree)"
# shellcheck disable=SC2086 # $targets is a list
if ! "${MAKE:-make}" -C "$tree" --no-print-directory \
	LOCALBIN="$localbin" WORKDIR="$tmp/work" SDK="$tmp/work/sdk" $targets >"$tmp/make.log" 2>&1; then
	tail -n 40 "$tmp/make.log" >&2
	echo "error: verify: 'make $targets' failed on a copy of the working tree (last lines above); fix that first" >&2
	exit 1
fi

g add -A
after=$(g write-tree)
if g diff --quiet "$before" "$after" -- "${generated[@]}"; then
	echo "verify: generated files are up to date"
	exit 0
fi
g diff --no-ext-diff "$before" "$after" -- "${generated[@]}" >"$tmp/diff"
{
	echo "error: verify: generated files differ from what the targets make of the working tree ('-' working tree, '+' regenerated):"
	g diff --no-ext-diff --stat "$before" "$after" -- "${generated[@]}"
	head -n 60 "$tmp/diff"
	lines=$(wc -l <"$tmp/diff")
	if [ "$lines" -gt 60 ]; then echo "... ($((lines - 60)) more lines)"; fi
	echo "run 'make $targets' and commit the result"
} >&2
exit 1
