# memcached-operator: an OLM-first Go operator. `make help` is the map.

##@ Configuration (every variable can be overridden: make VAR=value)

# The release `make bundle` writes. REPLACES is the version it upgrades from;
# SKIP_RANGE (optional) the olm.skipRange, e.g. '>=0.1.0 <0.2.0'.
VERSION ?= 0.3.2
REPLACES ?= 0.3.1
SKIP_RANGE ?=
PACKAGE ?= memcached-operator
CHANNELS ?= candidate,fast,stable
DEFAULT_CHANNEL ?= stable
# The Kubernetes version whose removed APIs the bundle must not use.
K8S_TARGET_VERSION ?= 1.37

IMAGE_TAG_BASE ?= example.com/memcached-operator
IMG ?= $(IMAGE_TAG_BASE):v$(VERSION)
BUNDLE_IMG ?= $(IMAGE_TAG_BASE)-bundle:v$(VERSION)
SCORECARD_IMG ?= $(IMAGE_TAG_BASE)-scorecard:v$(VERSION)
# Optional digests pin the images in the CSV (relatedImages, containerImage).
IMG_DIGEST ?=
OPERATOR_IMAGE = $(if $(IMG_DIGEST),$(firstword $(subst :, ,$(IMG)))@$(IMG_DIGEST),$(IMG))

# Where tools and local state live; both are ignored by git. A relative
# WORKDIR is taken from the checkout. When WORKDIR is not given and KUBECONFIG
# is the kubeconfig of a cluster these targets started (its directory holds
# their cluster.mk), that directory is the WORKDIR: every target acts on the
# cluster KUBECONFIG names.
LOCALBIN ?= $(CURDIR)/bin
KUBECONFIG_WORKDIR := $(if $(and $(filter undefined,$(origin WORKDIR)),$(filter-out %:%,$(KUBECONFIG)),$(wildcard $(dir $(KUBECONFIG))cluster.mk)),$(abspath $(dir $(KUBECONFIG))))
WORKDIR_ORIGIN := $(origin WORKDIR)
WORKDIR ?= $(or $(KUBECONFIG_WORKDIR),$(CURDIR)/.work)
override WORKDIR := $(abspath $(WORKDIR))

# operator-registry's image code needs these tags to build without cgo/gpgme.
# (Test targets that add a tag of their own repeat these: -tags replaces, it does not add.)
GO_TAGS := containers_image_openpgp,json1
export GOFLAGS := $(strip $(GOFLAGS) -tags=$(GO_TAGS))

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

##@ Tool versions (pinned in hack/tools/<group>/go.mod and nowhere else; `make tool-versions` lists them)

# The versions recipes need, read from those go.mod files when a recipe uses them,
# all here and all by hack/tool-version.sh, their one reader.
TOOL_VERSION := hack/tool-version.sh
K8S_VERSION ?= $(or $(shell $(TOOL_VERSION) k8s k8s.io/kubernetes),$(error K8S_VERSION: cannot read it from hack/tools/k8s/go.mod))
OPERATOR_REGISTRY_VERSION ?= $(or $(shell $(TOOL_VERSION) opm github.com/operator-framework/operator-registry),$(error OPERATOR_REGISTRY_VERSION: cannot read it from hack/tools/opm/go.mod))
OLM_VERSION ?= $(or $(shell $(TOOL_VERSION) olm github.com/operator-framework/operator-lifecycle-manager),$(error OLM_VERSION: cannot read it from hack/tools/olm/go.mod))
COREDNS_VERSION ?= $(or $(shell $(TOOL_VERSION) coredns github.com/coredns/coredns),$(error COREDNS_VERSION: cannot read it from hack/tools/coredns/go.mod))

KUBE_APISERVER := $(LOCALBIN)/kube-apiserver
KUBE_CONTROLLER_MANAGER := $(LOCALBIN)/kube-controller-manager
KUBE_SCHEDULER := $(LOCALBIN)/kube-scheduler
KUBECTL := $(LOCALBIN)/kubectl
KUBELET := $(LOCALBIN)/kubelet
KUBE_PROXY := $(LOCALBIN)/kube-proxy
ETCD ?= $(LOCALBIN)/etcd
KWOK ?= $(LOCALBIN)/kwok
KWOKCTL ?= $(LOCALBIN)/kwokctl
CONTROLLER_GEN ?= $(LOCALBIN)/controller-gen
KUSTOMIZE ?= $(LOCALBIN)/kustomize
OPM ?= $(LOCALBIN)/opm
REGISTRY ?= $(LOCALBIN)/registry
SDK ?= $(LOCALBIN)/sdk
OLM ?= $(LOCALBIN)/olm
OLM_CATALOG ?= $(LOCALBIN)/olm-catalog

# The local cluster (kwok with the binaries above). KUBECONFIG, when set, points
# every target at another cluster instead.
#
# One cluster, one identity: cluster-up records the cluster it starts in
# WORKDIR/cluster.mk (RECORDED_CLUSTER_NAME, RECORDED_NODE_LANE), and every
# target takes CLUSTER_NAME and NODE_LANE from there; given values that
# disagree are refused, naming both, rather than starting a second cluster in
# the same WORKDIR.
-include $(WORKDIR)/cluster.mk
CLUSTER_NAME ?= $(or $(RECORDED_CLUSTER_NAME),memcached)
LOCAL_KUBECONFIG := $(WORKDIR)/kubeconfig
# A WORKDIR on the command line names its own cluster, whatever KUBECONFIG the
# environment has (a parent make's, or one exported for another cluster).
ifeq ($(WORKDIR_ORIGIN) $(origin KUBECONFIG),command line environment)
KUBECONFIG := $(LOCAL_KUBECONFIG)
endif
export KUBECONFIG ?= $(LOCAL_KUBECONFIG)
export KWOK_WORKDIR := $(WORKDIR)/kwok
CLUSTER_NODES ?= 1

# Container images: docker or podman where present, else buildah (daemonless).
CONTAINER_TOOL ?= $(shell command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1 && echo docker || \
	(command -v podman >/dev/null 2>&1 && echo podman) || echo buildah)
BUILDAH_FLAGS ?= --storage-driver vfs
BUILD_FLAGS ?= $(if $(filter buildah,$(CONTAINER_TOOL)),$(BUILDAH_FLAGS) build --isolation chroot,build)
# No base image can be pulled here: the operator image is FROM scratch with a
# static binary unless BASE_IMAGE names another.
BASE_IMAGE ?= scratch

GOTEST ?= go test
TEST_FLAGS ?=

.PHONY: all
all: build

##@ Start here

.PHONY: deps
deps: ## Install the system packages the targets use (the CONTAINER_TOOL, e.g. buildah), if missing.
	@CONTAINER_TOOL=$(CONTAINER_TOOL) hack/deps.sh

.PHONY: help
help: ## Show this map of targets.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-20s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

# One file per concern, each with its targets and the variables only they use;
# the order matters where a file's prerequisites name another's variables.
include make/demo.mk
include make/tools.mk
include make/build.mk
include make/test.mk
include make/cluster.mk
include make/bundle.mk
include make/catalog.mk
include make/olm.mk
include make/scorecard.mk
include make/bench.mk
include make/reliability.mk
include make/registry.mk
include make/node.mk
include make/operator-sdk.mk
