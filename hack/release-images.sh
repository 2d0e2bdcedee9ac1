#!/usr/bin/env bash
# Builds the images of every release and pushes them where the real node pulls
# from (hack/image.sh): its operator image from that release's own source
# (config/catalog/release-sources.yaml: bundle name -> commit of main's
# history), and its bundle image (BUNDLE_IMG_BASE:v<version>, the reference
# the catalog template gives it) from the released bundle directory, labelled
# with its annotations as operator-sdk's bundle.Dockerfile is (its Dockerfile
# written by bin/sdk bundle dockerfile, as make bundle writes bundle.Dockerfile).
# Each source is checked out with git archive into WORKDIR/releases/<name>; its
# bundle/ must be the released bundle, so the image and the bundle that names
# it come from the same commit.
#
# usage: hack/release-images.sh
# env:   RELEASES (config/catalog/releases), SOURCES (release-sources.yaml),
#        WORKDIR, BASE_IMAGE, BUNDLE_IMG_BASE, SDK (bin/sdk), and hack/image.sh's CONTAINER_TOOL, BUILD_FLAGS,
#        BUILDAH_FLAGS, LOCAL_REGISTRY;
#        PARTS ("operator bundle", the default, or either alone)
set -euo pipefail
: "${RELEASES:?}" "${SOURCES:?}" "${WORKDIR:?}" "${BASE_IMAGE:?}" "${BUNDLE_IMG_BASE:?}" "${SDK:?}"

# shellcheck source=hack/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# bundle_image DIR NAME: builds the bundle image of the released bundle DIR.
bundle_image() {
	local dir=$1 name=$2 ctx=$WORKDIR/releases/$2.bundle
	rm -rf "$ctx" && mkdir -p "$ctx" && cp -r "$dir"/. "$ctx"/
	"$SDK" bundle dockerfile "$ctx" --context "$ctx" >"$ctx/Containerfile"
	hack/image.sh "$BUNDLE_IMG_BASE:v${name##*.v}" "$ctx/Containerfile" "$ctx"
}

# build_operator DIR NAME COMMIT SRC: the release's source checked out into
# SRC (its bundle/ must be the released DIR) and its manager built there.
build_operator() {
	local dir=$1 name=$2 commit=$3 src=$4 part main
	rm -rf "$src" && mkdir -p "$src"
	git archive "$commit" | tar -x -C "$src"
	for part in manifests metadata; do
		diff -r -q "$src/bundle/$part" "$dir/$part" >/dev/null ||
			die "$SOURCES: $name's source $commit has a bundle/$part that is not the released one in $dir: name the commit it was released from"
	done
	# The manager's main package where that release's tree has it: the root
	# (kubebuilder's go/v3 layout, up to 0.3.2) or cmd/ (go/v4).
	main=.
	[ -f "$src/main.go" ] || main=./cmd
	(cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o bin/manager "$main")
}

# commit_of NAME: the source commit SOURCES gives the release NAME.
commit_of() { sed -n "s/^$1: *\([0-9a-f]\{40\}\) *$/\1/p" "$SOURCES"; }

parts=" ${PARTS:-operator bundle} "
for dir in "$RELEASES"/*/; do
	name=$(basename "$dir")
	if [[ $parts != *" operator "* ]]; then
		bundle_image "$dir" "$name"
		continue
	fi
	commit=$(commit_of "$name")
	[ -n "$commit" ] || die "$SOURCES: release $name has no source commit; add '$name: <40-hex commit>' (the commit it was released from)"
	git cat-file -e "$commit^{commit}" 2>/dev/null ||
		die "$SOURCES: $name's source $commit is not in this clone (a shallow clone?): git fetch --unshallow"
	image=$(sed -n 's/^ *containerImage: *//p' "$dir"/manifests/*.clusterserviceversion.yaml | head -1)
	[ -n "$image" ] || die "$dir: its CSV has no containerImage annotation"
	echo "==> $name: operator $image from $commit"
	src=$WORKDIR/releases/$name
	# An image built here from that commit before is pushed as it is.
	IMAGE_REVISION=$commit hack/image.sh --check "$image" || build_operator "$dir" "$name" "$commit" "$src"
	IMAGE_REVISION=$commit hack/image.sh "$image" "$src/Dockerfile" "$src" --build-arg BASE_IMAGE="$BASE_IMAGE"
	[[ $parts != *" bundle "* ]] || bundle_image "$dir" "$name"
done
