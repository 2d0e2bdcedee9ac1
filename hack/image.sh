#!/usr/bin/env bash
# Builds an image with CONTAINER_TOOL and, when LOCAL_REGISTRY is set, pushes it
# there under the same repository path, which is where the real node pulls it
# from: containerd mirrors the image's registry host (e.g. example.com) to the
# local registry (hack/node.sh, REGISTRY_MIRRORS).
#
# usage: hack/image.sh NAME CONTAINERFILE CONTEXT [--build-arg K=V ...]
# env:   CONTAINER_TOOL, BUILD_FLAGS (its build subcommand and flags), BUILDAH_FLAGS,
#        LOCAL_REGISTRY (host:port, optional)
set -euo pipefail
: "${CONTAINER_TOOL:?}" "${BUILD_FLAGS:?}"
name=$1 file=$2 ctx=$3
shift 3
read -r -a build <<<"$BUILD_FLAGS"
echo "==> image $name ($file)"
"$CONTAINER_TOOL" "${build[@]}" -q -f "$file" "$@" -t "$name" "$ctx" >/dev/null
# Each rebuild leaves the image it replaced untagged; with vfs storage every
# one is a full copy of its layers, and hundreds fill the disk (the real node
# then reports DiskPressure and schedules nothing). Drop the untagged ones.
if [[ $CONTAINER_TOOL == *buildah ]]; then
	read -r -a storage <<<"${BUILDAH_FLAGS:-}"
	"$CONTAINER_TOOL" "${storage[@]}" rmi --prune >/dev/null 2>&1 || true
fi
[ -n "${LOCAL_REGISTRY:-}" ] || exit 0
# example.com/memcached-operator:v0.3.0 -> LOCAL_REGISTRY/memcached-operator:v0.3.0
dest=$LOCAL_REGISTRY/${name#*/}
case $CONTAINER_TOOL in
*buildah | *podman)
	read -r -a flags <<<"${BUILDAH_FLAGS:-}"
	[[ $CONTAINER_TOOL == *podman ]] && flags=()
	"$CONTAINER_TOOL" "${flags[@]}" push -q --tls-verify=false "$name" "docker://$dest" ;;
*)
	"$CONTAINER_TOOL" tag "$name" "$dest" && "$CONTAINER_TOOL" push -q "$dest" >/dev/null ;;
esac
echo "    pushed $dest"
