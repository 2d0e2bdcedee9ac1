#!/usr/bin/env bash
# Builds an image with CONTAINER_TOOL and, when LOCAL_REGISTRY is set, pushes it
# there under the same repository path, which is where the real node pulls it
# from: containerd mirrors the image's registry host (e.g. example.com) to the
# local registry (hack/node.sh, REGISTRY_MIRRORS).
#
# usage: hack/image.sh NAME CONTAINERFILE CONTEXT [--build-arg K=V ...]
#        hack/image.sh --check NAME   exit 0 when the local image NAME was built
#                                     from IMAGE_REVISION
# env:   CONTAINER_TOOL, BUILD_FLAGS (its build subcommand and flags), BUILDAH_FLAGS,
#        LOCAL_REGISTRY (host:port, optional), IMAGE_REVISION (optional: the
#        source revision the image is built from; an image of that name built
#        from it already is pushed as it is, not built again)
set -euo pipefail
: "${CONTAINER_TOOL:?}" "${BUILD_FLAGS:?}"
revision_label=org.opencontainers.image.revision

# revision is the revision label of the local image $1 (empty: none, or no image).
revision() {
	local fmt="{{index .Config.Labels \"$revision_label\"}}" flags
	case $CONTAINER_TOOL in
	*buildah)
		read -r -a flags <<<"${BUILDAH_FLAGS:-}"
		"$CONTAINER_TOOL" "${flags[@]}" inspect --type image --format "{{index .OCIv1.Config.Labels \"$revision_label\"}}" "$1" 2>/dev/null ;;
	*podman) "$CONTAINER_TOOL" image inspect --format "{{index .Labels \"$revision_label\"}}" "$1" 2>/dev/null ;;
	*) "$CONTAINER_TOOL" image inspect --format "$fmt" "$1" 2>/dev/null ;;
	esac || true
}

if [ "$1" = --check ]; then
	[ -n "${IMAGE_REVISION:-}" ] && [ "$(revision "$2")" = "$IMAGE_REVISION" ]
	exit
fi
name=$1 file=$2 ctx=$3
shift 3
read -r -a build <<<"$BUILD_FLAGS"
if [ -n "${IMAGE_REVISION:-}" ] && [ "$(revision "$name")" = "$IMAGE_REVISION" ]; then
	echo "==> image $name (built from $IMAGE_REVISION already)"
else
	echo "==> image $name ($file)"
	"$CONTAINER_TOOL" "${build[@]}" -q -f "$file" "$@" ${IMAGE_REVISION:+--label "$revision_label=$IMAGE_REVISION"} -t "$name" "$ctx" >/dev/null
fi
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
