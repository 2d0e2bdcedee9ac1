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

# The versions recipes need, read from those go.mod files when a recipe uses them.
TOOL_VERSION := hack/tool-version.sh
K8S_VERSION ?= $(or $(shell $(TOOL_VERSION) k8s k8s.io/kubernetes),$(error K8S_VERSION: cannot read it from hack/tools/k8s/go.mod))
OPERATOR_REGISTRY_VERSION ?= $(or $(shell $(TOOL_VERSION) opm github.com/operator-framework/operator-registry),$(error OPERATOR_REGISTRY_VERSION: cannot read it from hack/tools/opm/go.mod))

BUILD_TOOL := hack/build-tool.sh
K8S_LDFLAGS := -ldflags "-s -w \
	-X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/component-base/version.gitMajor=$(word 1,$(subst ., ,$(K8S_VERSION:v%=%))) \
	-X k8s.io/component-base/version.gitMinor=$(word 2,$(subst ., ,$(K8S_VERSION:v%=%))) \
	-X k8s.io/component-base/version.gitTreeState=clean"

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

.PHONY: demo
# make demo's lane: `real` (a real node runs every pod, OLM runs in the cluster)
# where a real node can run here (make node-check), else `simulated` (kwok
# fakes the pods, the operator runs here). DEMO_LANE=simulated forces it.
DEMO_LANE ?=
# The real lane's cluster is its own (.work/demo-lane), as the test lane's is.
DEMO_REAL = CLUSTER_NAME=memcached-demo WORKDIR=$(WORKDIR)/demo-lane NODE_LANE=real OLM_LANE=in-cluster \
	KUBECONFIG=$(WORKDIR)/demo-lane/kubeconfig

demo: deps ## The main job: install from the catalog with OLM, sample reconciled, upgrade hop by hop to the head, on the real node where one can run.
	@if [ "$(DEMO_LANE)" != simulated ] && why=$$(BIN=$(LOCALBIN) STATE=$(WORKDIR)/demo-lane/node hack/node.sh check 2>&1); then \
		echo "demo: real lane: a real node runs every pod, OLM runs in the cluster (kubeconfig $(WORKDIR)/demo-lane/kubeconfig)"; \
		$(MAKE) --no-print-directory $(DEMO_REAL) demo-real; \
	else \
		[ "$(DEMO_LANE)" = real ] && { echo "error: DEMO_LANE=real, but $$why" >&2; exit 1; }; \
		echo "demo: simulated lane ($${why:-DEMO_LANE=simulated}): kwok fakes the pods, the operator runs on this machine"; \
		$(MAKE) --no-print-directory demo-simulated; \
	fi

.PHONY: demo-simulated
demo-simulated: build catalog $(OPM) olm-up
	go run ./cmd/demo --opm $(OPM) --manager $(LOCALBIN)/manager --catalog $(LOCAL_CATALOG) --state-dir $(WORKDIR)/demo

.PHONY: demo-real
demo-real: catalog cluster-up
	@$(MAKE) --no-print-directory olm-up
	@$(MAKE) --no-print-directory catalog-images operand-images >$(WORKDIR)/images.log 2>&1 || { tail -20 $(WORKDIR)/images.log; exit 1; }
	go run ./cmd/demo --catalog-image $(CATALOG_IMG) --catalog catalog --state-dir $(WORKDIR)/demo

.PHONY: demo-down
demo-down: olm-down cluster-down ## Stop everything demo and the tests started (the real lane's cluster too, restoring the host).
	-@$(MAKE) --no-print-directory $(DEMO_REAL) olm-down cluster-down >/dev/null 2>&1
	-@$(MAKE) --no-print-directory registry-down registry-tls-down
	-@for f in $(WORKDIR)/demo/*.pid $(WORKDIR)/run-bundle/*.pid; do [ -f "$$f" ] && kill $$(cat "$$f") 2>/dev/null; rm -f "$$f"; done; true

.PHONY: tutorial
tutorial: deps build cluster-up install ## The operator-sdk tutorial without OLM: CRD, operator running, sample reconciled and scaled.
	KUBECTL=$(KUBECTL) MANAGER=$(LOCALBIN)/manager WORKDIR=$(WORKDIR) hack/tutorial.sh

.PHONY: deps
deps: ## Install the system packages the targets use (the CONTAINER_TOOL, e.g. buildah), if missing.
	@CONTAINER_TOOL=$(CONTAINER_TOOL) hack/deps.sh

.PHONY: help
help: ## Show this map of targets.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-20s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Tools (built from pinned Go modules into bin/; nothing is downloaded prebuilt)

.PHONY: tools
tools: gen-tools cluster-tools ## Build every tool the default targets need.

.PHONY: tool-versions
tool-versions: ## Print every tool built from hack/tools with the version its go.mod pins.
	@$(TOOL_VERSION)

.PHONY: gen-tools
gen-tools: $(CONTROLLER_GEN) $(KUSTOMIZE) ## Build controller-gen and kustomize.

.PHONY: cluster-tools
cluster-tools: $(ETCD) $(KUBE_APISERVER) $(KUBE_CONTROLLER_MANAGER) $(KUBE_SCHEDULER) $(KUBECTL) $(KWOK) $(KWOKCTL) ## Build the local control plane (cold: ~15 min on 2 cores).

.PHONY: image-tools
image-tools: $(OPM) $(REGISTRY) ## Build opm and the distribution registry.

$(OPM): hack/tools/opm/go.mod hack/tools/opm/go.sum
	$(BUILD_TOOL) opm $@ github.com/operator-framework/operator-registry/cmd/opm -tags containers_image_openpgp,json1
$(REGISTRY): hack/tools/registry/go.mod hack/tools/registry/go.sum
	$(BUILD_TOOL) registry $@ github.com/distribution/distribution/v3/cmd/registry
.PHONY: olm-tools
olm-tools: $(OLM) $(OLM_CATALOG) ## Build OLM's olm and catalog operators.

$(OLM): hack/tools/olm/go.mod hack/tools/olm/go.sum
	$(BUILD_TOOL) olm $@ github.com/operator-framework/operator-lifecycle-manager/cmd/olm
$(OLM_CATALOG): hack/tools/olm/go.mod hack/tools/olm/go.sum
	$(BUILD_TOOL) olm $@ github.com/operator-framework/operator-lifecycle-manager/cmd/catalog
$(CONTROLLER_GEN): hack/tools/gen/go.mod hack/tools/gen/go.sum
	$(BUILD_TOOL) gen $@ sigs.k8s.io/controller-tools/cmd/controller-gen
$(KUSTOMIZE): hack/tools/gen/go.mod hack/tools/gen/go.sum
	$(BUILD_TOOL) gen $@ sigs.k8s.io/kustomize/kustomize/v5
$(ETCD): hack/tools/etcd/go.mod hack/tools/etcd/go.sum hack/tools/etcd/cmd/etcd/main.go
	$(BUILD_TOOL) etcd $@ ./cmd/etcd
# One `go build` for every Kubernetes command: they share most of their packages.
K8S_COMMANDS := kube-apiserver kube-controller-manager kube-scheduler kubectl kubelet kube-proxy
K8S_BINARIES := $(addprefix $(LOCALBIN)/,$(K8S_COMMANDS))
$(K8S_BINARIES) &: hack/tools/k8s/go.mod hack/tools/k8s/go.sum
	$(BUILD_TOOL) k8s $(LOCALBIN) "$(addprefix k8s.io/kubernetes/cmd/,$(K8S_COMMANDS))" $(K8S_LDFLAGS)
$(KWOK): hack/tools/kwok/go.mod hack/tools/kwok/go.sum
	$(BUILD_TOOL) kwok $@ sigs.k8s.io/kwok/cmd/kwok
$(KWOKCTL): hack/tools/kwok/go.mod hack/tools/kwok/go.sum
	$(BUILD_TOOL) kwok $@ sigs.k8s.io/kwok/cmd/kwokctl

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRD and the manager's ClusterRole from markers (each file replaced whole, unchanged ones left alone).
	@rm -rf $(WORKDIR)/manifests && mkdir -p $(WORKDIR)/manifests
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./api/...;./internal/controller/..." \
		output:crd:artifacts:config=$(WORKDIR)/manifests/crd output:rbac:artifacts:config=$(WORKDIR)/manifests/rbac
	@hack/replace-files.sh $(WORKDIR)/manifests/crd config/crd/bases
	@hack/replace-files.sh $(WORKDIR)/manifests/rbac config/rbac

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./api/..."

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: verify
verify: $(CONTROLLER_GEN) $(KUSTOMIZE) ## Fail on drift (generate manifests fmt bundle catalog run on a copy of the working tree, the generated files diffed; the tree is not written) and on build output tracked by git (binaries, files over 1 MiB).
	@hack/tracked-files.sh
	@LOCALBIN=$(LOCALBIN) hack/verify.sh

##@ Test

# Suites that need what a machine may lack (a real node, operator-sdk) skip
# with their reason in SKIP_LOG, which make test summarises at its end; CI
# sets REQUIRE_REAL_NODE=1 and REQUIRE_OPERATOR_SDK=1, which make them fail
# instead (hack/skip.sh, test/framework.Unavailable).
export SKIP_LOG ?= $(CURDIR)/.work/skipped.log
export REQUIRE_REAL_NODE ?=
export REQUIRE_OPERATOR_SDK ?=

# make test runs its suites one after the other, each target's minutes said
# as it ends and summed at the end (hack/timing.sh). The real-node lane
# alone keeps two cores busy (load averages 2.5 to 2.9): two chains of suites
# side by side took CI past 90 minutes, one after the other takes 68. The
# order: what checks the tree and builds the tools, the suites that time
# things, then the cluster suites.
TEST_SUITES = test-begin deps verify vet catalog-diff test-unit test-integration test-operator-sdk test-readme-offline \
	reliability-fast test-node-host test-prepare \
	test-node test-readme-node \
	test-e2e docker-build test-bundle-image test-readme-release test-catalog test-olm scorecard scorecard-build \
	test-readme-simulated test-readme-sdk test-readme-demo

.PHONY: test
test: $(foreach t,$(TEST_SUITES),$t timed/$t) ## Everything CI runs: drift check, the catalog's release gate against the previous commit, unit, envtest, operator-sdk parity, the README as written, the fast reliability subset, tutorial flow, images, catalog, OLM end to end, scorecard, the real-node lane, the node's host tests, the demo.
	@hack/timing.sh summary
	@hack/skip.sh summary

export TIMING_LOG ?= $(CURDIR)/.work/timing.log
timed/%:
	@hack/timing.sh mark $*

# What the cluster suites use, made before the first: every tool and binary,
# the registries and the images every lane pulls.
.PHONY: test-prepare
test-prepare: build sdk scorecard-build tools node-tools olm-tools image-tools registry-up registry-tls-up node-images olm-images operand-images

.PHONY: test-begin
test-begin:
	@mkdir -p $(dir $(SKIP_LOG)) && rm -f $(SKIP_LOG)
	@hack/timing.sh begin

##@ The README, run as written (test/readme: each ```sh block names its scenario)

README_TEST = $(GOTEST) $(TEST_FLAGS) -count=1 -v -tags $(GO_TAGS),readme -timeout 45m ./test/readme/

.PHONY: test-readme test-readme-offline test-readme-release test-readme-simulated test-readme-node test-readme-sdk test-readme-demo
test-readme: test-readme-offline test-readme-release test-readme-simulated test-readme-node test-readme-sdk test-readme-demo ## Every shell block of the README, as written, scenario by scenario.

test-readme-offline: $(KUBECTL) ## README blocks that need no cluster.
	README_SCENARIO=offline $(README_TEST)

test-readme-release: $(KUBECTL) ## README's release blocks, in a copy of the working tree (they change tracked files).
	README_SCENARIO=release $(README_TEST)

test-readme-simulated: $(KUBECTL) ## README blocks of the simulated lane (OLM on this host).
	README_SCENARIO=simulated $(README_TEST)

test-readme-node: $(KUBECTL) ## README blocks of the real node (a cluster of their own).
	README_SCENARIO=node $(README_TEST)

test-readme-sdk: $(KUBECTL) ## README's operator-sdk section with the real operator-sdk (OPERATOR_SDK) on a real-node cluster.
	README_SCENARIO=sdk $(README_TEST)

test-readme-demo: $(KUBECTL) demo ## make demo, then the README blocks that use its cluster.
	README_SCENARIO=demo $(README_TEST)

.PHONY: test-unit
test-unit: ## Unit tests of the pure builders.
	$(GOTEST) $(TEST_FLAGS) -short ./...

.PHONY: test-integration
test-integration: build $(KUBE_APISERVER) $(ETCD) $(KUBECTL) $(KUSTOMIZE) ## Reconciler tests, and scorecard-test cleaning up on SIGTERM, against a real kube-apiserver and etcd (envtest with our binaries); the metrics endpoint's token and access reviews; bin/manager with the shipped flags and RBAC scraped (401, 403, 200).
	KUBEBUILDER_ASSETS=$(LOCALBIN) MANAGER_BINARY=$(LOCALBIN)/manager KUSTOMIZE=$(KUSTOMIZE) $(GOTEST) $(TEST_FLAGS) -count=1 -run Integration ./internal/controller/... ./cmd/ ./cmd/scorecard-test/... ./internal/metricsauth/...

.PHONY: test-e2e
test-e2e: build cluster-up install ## The tutorial flow on the local cluster: install, run, sample reconciled, scale.
	MANAGER_BINARY=$(LOCALBIN)/manager KUBECTL=$(KUBECTL) \
		$(GOTEST) $(TEST_FLAGS) -count=1 -tags $(GO_TAGS),e2e -timeout 10m ./test/e2e/...

##@ Build

.PHONY: build
build: generate fmt vet ## Build the manager binary.
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o $(LOCALBIN)/manager ./cmd

.PHONY: run
run: manifests generate fmt vet ## Run the operator on this machine against the cluster KUBECONFIG names (default: the local one).
	go run ./cmd --health-probe-bind-address=0

.PHONY: docker-build
docker-build: build ## Build the operator image with CONTAINER_TOOL (buildah works here without a daemon).
	$(CONTAINER_TOOL) $(BUILD_FLAGS) --build-arg BASE_IMAGE=$(BASE_IMAGE) -t $(IMG) .

.PHONY: docker-push
docker-push: ## Push the operator image.
	$(CONTAINER_TOOL) $(if $(filter buildah,$(CONTAINER_TOOL)),$(BUILDAH_FLAGS) push $(PUSH_FLAGS),push) $(IMG)

##@ Local cluster (kwok on real kube-apiserver, controller-manager, scheduler and etcd; fake nodes)

# Who runs the pods: `simulated` (kwok's fake nodes) or `real` (also a real node,
# hack/node.sh, where pods run as containers; kwok's fake nodes are tainted so
# that no pod meant for it lands on them). `make node-check` says whether a real
# node can run on this machine.
NODE_LANE ?= $(or $(RECORDED_NODE_LANE),simulated)
ifneq ($(RECORDED_CLUSTER_NAME),)
ifneq ($(CLUSTER_NAME) $(NODE_LANE),$(RECORDED_CLUSTER_NAME) $(RECORDED_NODE_LANE))
$(error WORKDIR $(WORKDIR) holds cluster $(RECORDED_CLUSTER_NAME) (NODE_LANE=$(RECORDED_NODE_LANE)), not CLUSTER_NAME=$(CLUSTER_NAME) NODE_LANE=$(NODE_LANE): leave both out to act on that cluster, stop it first (make cluster-down WORKDIR=$(WORKDIR)), or give another WORKDIR)
endif
endif
ifneq ($(and $(filter-out %:%,$(KUBECONFIG)),$(wildcard $(dir $(KUBECONFIG))cluster.mk)),)
ifneq ($(abspath $(dir $(KUBECONFIG))),$(WORKDIR))
$(error KUBECONFIG=$(KUBECONFIG) is the cluster of WORKDIR $(abspath $(dir $(KUBECONFIG))), but WORKDIR=$(WORKDIR): give one of them, not both)
endif
endif

CLUSTER_ENV = KWOKCTL=$(KWOKCTL) KUBECTL=$(KUBECTL) KUBE_APISERVER=$(KUBE_APISERVER) \
	KUBE_CONTROLLER_MANAGER=$(KUBE_CONTROLLER_MANAGER) KUBE_SCHEDULER=$(KUBE_SCHEDULER) KWOK=$(KWOK) ETCD=$(ETCD) \
	CLUSTER_NAME=$(CLUSTER_NAME) CLUSTER_NODES=$(CLUSTER_NODES) LOCAL_KUBECONFIG=$(LOCAL_KUBECONFIG) \
	WORKDIR=$(WORKDIR) KWOKCTL_CREATE_FLAGS="$(KWOKCTL_CREATE_FLAGS)" NODE_LANE=$(NODE_LANE)

.PHONY: cluster-up
cluster-up: cluster-tools $(if $(filter real,$(NODE_LANE)),node-tools node-images) ## Start the local cluster (idempotent; NODE_LANE=real adds a real node, after checking the host can take it) and write its kubeconfig to WORKDIR/kubeconfig.
ifeq ($(NODE_LANE),real)
	@why=$$($(NODE_ENV) hack/node.sh check) || { echo "error: no real node can run here: $$why" >&2; exit 1; }
endif
	@$(CLUSTER_ENV) hack/cluster.sh up
ifeq ($(NODE_LANE),real)
	@$(MAKE) --no-print-directory node-up
endif

.PHONY: cluster-down
cluster-down: ## Stop the local cluster (and its real node) and delete its state; fails when anything of the node is left on the host.
	@st=0; $(NODE_ENV) hack/node.sh down || st=$$?; \
	$(CLUSTER_ENV) hack/cluster.sh down || true; \
	exit $$st

.PHONY: cluster-status
cluster-status: ## Show the local cluster's components and nodes.
	$(CLUSTER_ENV) hack/cluster.sh status

##@ Bundle (OLM registry+v1)

.PHONY: sdk
sdk: ## Build bin/sdk: generate bundle, bundle validate, catalog render/analyze/release.
	CGO_ENABLED=0 go build -o $(SDK) ./cmd/sdk

.PHONY: bundle
bundle: manifests $(KUSTOMIZE) sdk ## Generate bundle/ and bundle.Dockerfile for VERSION, validated; a failure leaves bundle/ as it was.
	@mkdir -p $(WORKDIR)
	$(KUSTOMIZE) build config/scorecard > $(WORKDIR)/scorecard-config.yaml
	$(KUSTOMIZE) build config/manifests | $(SDK) generate bundle --package $(PACKAGE) --version $(VERSION) \
		--channels $(CHANNELS) --default-channel $(DEFAULT_CHANNEL) --replaces "$(REPLACES)" --skip-range "$(SKIP_RANGE)" \
		--operator-image $(OPERATOR_IMAGE) --scorecard-image $(SCORECARD_IMG) --scorecard-config $(WORKDIR)/scorecard-config.yaml \
		--k8s-version $(K8S_TARGET_VERSION) --output-dir bundle --dockerfile bundle.Dockerfile

.PHONY: bundle-validate
bundle-validate: sdk ## Validate bundle/ as `operator-sdk bundle validate` with the optional suites does.
	$(SDK) bundle validate bundle --k8s-version $(K8S_TARGET_VERSION)

.PHONY: bundle-build
bundle-build: deps ## Build the bundle image BUNDLE_IMG.
	$(CONTAINER_TOOL) $(BUILD_FLAGS) -f bundle.Dockerfile -t $(BUNDLE_IMG) .

.PHONY: bundle-push
bundle-push: ## Push the bundle image BUNDLE_IMG.
	$(MAKE) docker-push IMG=$(BUNDLE_IMG)

##@ Catalog (file-based, from config/catalog)

BUNDLE_IMG_BASE ?= $(IMAGE_TAG_BASE)-bundle
CATALOG_IMG ?= $(IMAGE_TAG_BASE)-catalog:v$(VERSION)
# The opm image the catalog image is built on; built here from bin/opm.
OPM_IMAGE ?= localhost/opm:$(OPERATOR_REGISTRY_VERSION)
LOCAL_CATALOG := $(WORKDIR)/catalog-local

.PHONY: catalog
catalog: sdk ## Render config/catalog into catalog/: validated as opm does, upgrade graph analysed, README with the channel picture.
	$(SDK) catalog render --template config/catalog/template.yaml --releases config/catalog/releases --bundle bundle --output catalog
	$(SDK) catalog render --template config/catalog/template.yaml --releases config/catalog/releases --bundle bundle --output $(LOCAL_CATALOG) --local

.PHONY: catalog-analyze
catalog-analyze: catalog ## Print the upgrade analysis of the catalog, CRDs included (of the local rendering: catalog/ has no manifests; OUTPUT=json for JSON).
	$(SDK) catalog analyze $(LOCAL_CATALOG) -o $(or $(OUTPUT),text)

.PHONY: catalog-release
catalog-release: bundle sdk ## Release bundle/ (VERSION): copy it into config/catalog/releases, add it to the template's CHANNELS and re-render catalog/, as one change; prints what changes for users (catalog diff) and releases nothing on a regression.
	$(SDK) catalog release --bundle bundle --releases config/catalog/releases --template config/catalog/template.yaml \
		--image $(BUNDLE_IMG_BASE):v$(VERSION) --channels $(CHANNELS) --skip-range "$(SKIP_RANGE)" --output catalog
	$(MAKE) catalog

# The catalog of CATALOG_DIFF_BASE (a git revision), the release gate's "before".
CATALOG_DIFF_BASE ?= HEAD~1

.PHONY: catalog-diff
catalog-diff: sdk ## What catalog/ changes for users against CATALOG_DIFF_BASE's catalog (default the previous commit); fails on a regression. Skipped when that revision has no catalog.
	@rm -rf $(WORKDIR)/catalog-base && mkdir -p $(WORKDIR)/catalog-base
	@if git archive $(CATALOG_DIFF_BASE) catalog 2>/dev/null | tar -x -C $(WORKDIR)/catalog-base 2>/dev/null && [ -d $(WORKDIR)/catalog-base/catalog ]; then \
		echo "==> catalog diff $(CATALOG_DIFF_BASE) -> working tree"; \
		$(SDK) catalog diff $(WORKDIR)/catalog-base/catalog catalog; \
	else echo "catalog-diff: $(CATALOG_DIFF_BASE) has no catalog/ (a shallow clone or the first commit): nothing to compare"; fi

.PHONY: opm-image
opm-image: $(OPM) deps ## Build the opm base image locally from bin/opm (nothing can be pulled here).
	OPM=$(OPM) OPM_IMAGE=$(OPM_IMAGE) CONTAINER_TOOL=$(CONTAINER_TOOL) BUILD_FLAGS="$(BUILD_FLAGS)" WORKDIR=$(WORKDIR) \
		hack/opm-image.sh

.PHONY: catalog-build
catalog-build: opm-image ## Build the catalog image CATALOG_IMG (catalog.Dockerfile, cache pre-built).
	$(CONTAINER_TOOL) $(BUILD_FLAGS) -f catalog.Dockerfile --build-arg OPM_IMAGE=$(OPM_IMAGE) -t $(CATALOG_IMG) .

.PHONY: catalog-push
catalog-push: ## Push the catalog image CATALOG_IMG.
	$(MAKE) docker-push IMG=$(CATALOG_IMG)

.PHONY: test-catalog
test-catalog: catalog $(OPM) registry-up ## Serve the catalog with opm and query it over the registry gRPC API as OLM does; build and push the catalog image.
	OPM=$(OPM) CATALOG_DIR=$(LOCAL_CATALOG) $(GOTEST) $(TEST_FLAGS) -count=1 -tags $(GO_TAGS),serve ./test/catalog/...
	$(MAKE) catalog-build catalog-push CATALOG_IMG=$(LOCAL_TEST_IMAGES)/memcached-operator-catalog:v$(VERSION) PUSH_FLAGS=--tls-verify=false

##@ OLM on the local cluster (olm and catalog operators as local processes)

OLM_STATE := $(WORKDIR)/olm
OLM_ENV = OLM=$(OLM) OLM_CATALOG=$(OLM_CATALOG) KUBECTL=$(KUBECTL) STATE=$(OLM_STATE) \
	OLM_CRDS=$$(cd hack/tools/olm && go list -m -f '{{.Dir}}' github.com/operator-framework/operator-lifecycle-manager)/deploy/chart/crds

.PHONY: olm-up
olm-up: cluster-up olm-tools ## Install OLM's CRDs and start OLM against the local cluster (idempotent).
	$(OLM_ENV) hack/olm.sh up

.PHONY: olm-down
olm-down: ## Stop OLM.
	-$(OLM_ENV) hack/olm.sh down

.PHONY: olm-status
olm-status: ## Show whether OLM is running.
	$(OLM_ENV) hack/olm.sh status

.PHONY: test-olm
test-olm: build catalog $(OPM) olm-up registry-up ## End to end with the real OLM: run bundle (dir and image), catalog installs, manual/automatic upgrades, channel switch, CRs survive, stalls explained.
	$(MAKE) bundle-build bundle-push BUNDLE_IMG=$(LOCAL_TEST_IMAGES)/memcached-operator-bundle:v$(VERSION) PUSH_FLAGS=--tls-verify=false >/dev/null
	OPM=$(OPM) MANAGER_BINARY=$(LOCALBIN)/manager BUNDLE_DIR=$(CURDIR)/bundle CATALOG_DIR=$(LOCAL_CATALOG) \
		BUNDLE_IMAGE=$(LOCAL_TEST_IMAGES)/memcached-operator-bundle:v$(VERSION) \
		$(GOTEST) $(TEST_FLAGS) -count=1 -p 1 -tags $(GO_TAGS),olm -timeout 20m ./test/olm/...

RUN_NAMESPACE ?= memcached-operator-system
RUN_BUNDLE_FLAGS ?=
# With OLM in the cluster, run bundle serves its catalog from a registry pod
# (the opm image), as operator-sdk does; with OLM on this host, opm serves it here.
RUN_BUNDLE_SERVE = $(if $(filter in-cluster,$(OLM_LANE)),--index-image $(OLM_OPM_IMG),--opm $(OPM))

.PHONY: run-bundle
run-bundle: sdk $(OPM) ## Install BUNDLE_DIR (a bundle directory or image; default bundle/) through OLM into RUN_NAMESPACE, as operator-sdk run bundle.
	$(KUBECTL) create namespace $(RUN_NAMESPACE) --dry-run=client -o yaml | $(KUBECTL) apply -f - >/dev/null
	$(SDK) run bundle $(or $(BUNDLE_DIR),bundle) --namespace $(RUN_NAMESPACE) $(RUN_BUNDLE_SERVE) --state-dir $(WORKDIR)/run-bundle $(RUN_BUNDLE_FLAGS)

.PHONY: run-bundle-upgrade
run-bundle-upgrade: sdk $(OPM) ## Upgrade what run-bundle installed to BUNDLE_DIR.
	$(SDK) run bundle-upgrade $(or $(BUNDLE_DIR),bundle) --namespace $(RUN_NAMESPACE) $(RUN_BUNDLE_SERVE) --state-dir $(WORKDIR)/run-bundle $(RUN_BUNDLE_FLAGS)

.PHONY: cleanup
cleanup: sdk ## Remove what run-bundle installed, its CRDs included (CLEANUP_FLAGS=--delete-crds=false keeps them).
	$(SDK) cleanup $(PACKAGE) --namespace $(RUN_NAMESPACE) --state-dir $(WORKDIR)/run-bundle $(CLEANUP_FLAGS)

##@ Scorecard

SCORECARD_FLAGS ?= -o text

.PHONY: scorecard
scorecard: build sdk catalog $(OPM) olm-up ## run bundle, then every scorecard suite against it on the local cluster (SCORECARD_FLAGS='-l suite=olm -o xunit').
	SDK=$(SDK) MANAGER=$(LOCALBIN)/manager OPM=$(OPM) KUBECTL=$(KUBECTL) WORKDIR=$(WORKDIR) \
		SCORECARD_FLAGS="$(SCORECARD_FLAGS)" hack/scorecard.sh

.PHONY: scorecard-build
scorecard-build: scorecard-test-binary ## Build the scorecard test image SCORECARD_IMG (what operator-sdk scorecard runs in pods).
	$(CONTAINER_TOOL) $(BUILD_FLAGS) -f scorecard/Dockerfile --build-arg BASE_IMAGE=$(BASE_IMAGE) -t $(SCORECARD_IMG) .

# The test image's binary, which scorecard-build and scorecard-images put in it.
.PHONY: scorecard-test-binary
scorecard-test-binary: deps
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o $(LOCALBIN)/scorecard-test ./cmd/scorecard-test

.PHONY: scorecard-push
scorecard-push: ## Push the scorecard test image.
	$(MAKE) docker-push IMG=$(SCORECARD_IMG)

##@ Benchmarks (numbers, not pass/fail; results in docs/bench and docs/benchmarks.md)

BENCH_N ?= 100,1000
# Manager flags for a second B1 row at each N (empty: only the shipped flags).
BENCH_VARIANT ?=
BENCH_STEADY ?= 60s

.PHONY: bench
bench: bench-catalog bench-lifecycle bench-reconcile ## All three benchmarks (B3 on the real node too, where one can run), then docs/benchmarks.md.
	@if BIN=$(LOCALBIN) STATE=$(WORKDIR)/bench-lifecycle-real/node hack/node.sh check >/dev/null 2>&1; then $(MAKE) --no-print-directory bench-lifecycle-real; fi
	$(LOCALBIN)/bench doc --dir docs/bench > docs/benchmarks.md
	@echo "results: docs/benchmarks.md, docs/bench/*.json"

##@ Reliability

RELIABILITY_SEED ?= 0
RELIABILITY_GROUPS ?=
# Set by the real-node group of make reliability for the cluster tests it runs:
# the file their rows are appended to, and 1 for the full repetitions.
RELIABILITY_REPORT ?=
RELIABILITY_FULL ?=

.PHONY: reliability
reliability: reliability-tool build cluster-tools sdk $(CONTROLLER_GEN) $(KUSTOMIZE) ## Inject the faults of docs/reliability.md (on clones of HEAD: commit first) and write it with docs/reliability.json; fails when a scenario fails.
	$(LOCALBIN)/reliability --bin $(LOCALBIN) --workdir $(WORKDIR)/reliability --out docs \
		--seed $(RELIABILITY_SEED) --groups "$(RELIABILITY_GROUPS)"

.PHONY: reliability-fast
reliability-fast: reliability-tool build cluster-tools sdk $(CONTROLLER_GEN) $(KUSTOMIZE) ## The subset of make reliability that make test runs: fewer kills, smaller loads, no fuzzing (make test-unit runs the seed corpora); tables in .work.
	$(LOCALBIN)/reliability --fast --bin $(LOCALBIN) --workdir $(WORKDIR)/reliability-fast --out $(WORKDIR)/reliability-fast \
		--seed $(RELIABILITY_SEED) --groups "$(RELIABILITY_GROUPS)"

.PHONY: reliability-tool
reliability-tool:
	CGO_ENABLED=0 go build -o $(LOCALBIN)/reliability ./cmd/reliability

.PHONY: bench-tool
bench-tool:
	CGO_ENABLED=0 go build -o $(LOCALBIN)/bench ./cmd/bench

.PHONY: bench-catalog
bench-catalog: bench-tool $(OPM) ## B2: render, validation and analysis of 1,000 and 10,000-bundle catalogs, a 500-package, 20,000-bundle index and an index of 704 bundles with their manifests (CRDs that evolve), against opm validate.
	$(LOCALBIN)/bench catalog --opm $(OPM) --out docs/bench

.PHONY: bench-lifecycle
bench-lifecycle: bench-tool build cluster-tools olm-tools $(OPM) ## B3 on the simulated lane (no operator container runs; no targets): nothing running -> first CSV Succeeded, each upgrade hop, cleanup.
	$(LOCALBIN)/bench lifecycle --opm $(OPM) --workdir $(WORKDIR)/bench-lifecycle --out docs/bench

.PHONY: bench-lifecycle-real
bench-lifecycle-real: bench-tool cluster-tools node-tools olm-tools catalog-images operand-images olm-images node-images ## B3 on the real node: nothing running -> first CSV Succeeded from the catalog image, each hop (make demo's lifecycle), whole-stack RSS.
	CGO_ENABLED=0 go build -o $(LOCALBIN)/demo ./cmd/demo
	$(LOCALBIN)/bench lifecycle-real --demo $(LOCALBIN)/demo --catalog-image $(CATALOG_IMG) --bin $(LOCALBIN) \
		--workdir $(WORKDIR)/bench-lifecycle-real --out docs/bench

.PHONY: bench-reconcile
bench-reconcile: bench-tool build cluster-tools ## B1: BENCH_N Memcacheds at once against the manager with its shipped flags (and BENCH_VARIANT's), three runs each, on a cluster without QPS limits.
	$(LOCALBIN)/bench reconcile --manager $(LOCALBIN)/manager --workdir $(WORKDIR)/bench-reconcile \
		--n $(BENCH_N) --variant "$(BENCH_VARIANT)" --steady $(BENCH_STEADY) --out docs/bench

##@ Local registry (distribution, on 127.0.0.1)

# Each checkout has two registries: LOCAL_HTTP_REGISTRY (plain HTTP) and
# LOCAL_TLS_REGISTRY (HTTPS, below). LOCAL_REGISTRY is where images are pushed,
# either of the two (default the HTTP one): the real node pulls from both.
# Each is the checkout's, whichever lane's WORKDIR a target runs with, and
# refuses to share its port with another's.
LOCAL_HTTP_REGISTRY ?= 127.0.0.1:5000
LOCAL_REGISTRY ?= $(LOCAL_HTTP_REGISTRY)
# The images the simulated lane's tests build from the working tree go to a
# path of their own: the real node pulls example.com/... from the registry's
# root, where only the releases' images (and the node's) are.
LOCAL_TEST_IMAGES = $(LOCAL_HTTP_REGISTRY)/check
LOCAL_TLS_TEST_IMAGES = $(LOCAL_TLS_REGISTRY)/check
REGISTRY_DIR := $(CURDIR)/.work/registry
REGISTRY_HTTP_ENV = REGISTRY=$(REGISTRY) LOCAL_REGISTRY=$(LOCAL_HTTP_REGISTRY) REGISTRY_DIR=$(REGISTRY_DIR)
REGISTRY_ENV = $(if $(filter $(LOCAL_TLS_REGISTRY),$(LOCAL_REGISTRY)),$(REGISTRY_TLS_ENV),$(REGISTRY_HTTP_ENV))

.PHONY: registry-up
registry-up: $(REGISTRY) ## Start the registry LOCAL_REGISTRY names, this checkout's HTTP one unless set (idempotent; refuses one it did not start).
	@$(REGISTRY_ENV) hack/registry.sh up

.PHONY: registry-down
registry-down: ## Stop the local HTTP registry.
	-@$(REGISTRY_HTTP_ENV) hack/registry.sh down

# A second registry that speaks HTTPS with a CA of its own, for clients that
# verify TLS (operator-sdk reads an index image from this host that way): export
# SSL_CERT_FILE=$(REGISTRY_TLS_DIR)/tls/ca-bundle.crt; the real node trusts the CA.
LOCAL_TLS_REGISTRY ?= 127.0.0.1:5443
REGISTRY_TLS_DIR := $(CURDIR)/.work/registry-tls
REGISTRY_TLS_ENV = REGISTRY=$(REGISTRY) LOCAL_REGISTRY=$(LOCAL_TLS_REGISTRY) REGISTRY_DIR=$(REGISTRY_TLS_DIR) REGISTRY_TLS=true

.PHONY: registry-tls-up
registry-tls-up: $(REGISTRY) ## Start this checkout's HTTPS registry on LOCAL_TLS_REGISTRY (CA and SSL_CERT_FILE bundle in .work/registry-tls/tls).
	@$(REGISTRY_TLS_ENV) hack/registry.sh up

.PHONY: registry-tls-down
registry-tls-down: ## Stop the HTTPS registry.
	-@$(REGISTRY_TLS_ENV) hack/registry.sh down

.PHONY: test-bundle-image
test-bundle-image: bundle sdk registry-up registry-tls-up $(OPM) ## Build the bundle image, push it to the local registries (HTTP and HTTPS), render it back with opm and compare with bundle/; a semver template naming it by digest renders as opm renders it.
	$(MAKE) bundle-build bundle-push BUNDLE_IMG=$(LOCAL_TEST_IMAGES)/memcached-operator-bundle:v$(VERSION) PUSH_FLAGS=--tls-verify=false
	$(MAKE) bundle-build bundle-push BUNDLE_IMG=$(LOCAL_TLS_TEST_IMAGES)/memcached-operator-bundle:v$(VERSION) PUSH_FLAGS=--tls-verify=false
	OPM=$(OPM) SDK=$(SDK) BUNDLE_IMG=$(LOCAL_TEST_IMAGES)/memcached-operator-bundle:v$(VERSION) \
		TLS_BUNDLE_IMG=$(LOCAL_TLS_TEST_IMAGES)/memcached-operator-bundle:v$(VERSION) REGISTRY_CA_BUNDLE=$(REGISTRY_TLS_DIR)/tls/ca-bundle.crt \
		$(GOTEST) $(TEST_FLAGS) -count=1 -tags $(GO_TAGS),image ./test/image/...

##@ Deployment (to the cluster KUBECONFIG names; default: the local cluster)


.PHONY: install
install: manifests $(KUSTOMIZE) $(KUBECTL) ## Install the CRDs into the cluster.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) apply --server-side -f -

.PHONY: uninstall
uninstall: manifests $(KUSTOMIZE) $(KUBECTL) ## Remove the CRDs (and every Memcached) from the cluster.
	$(KUSTOMIZE) build config/crd | $(KUBECTL) delete --ignore-not-found -f -

.PHONY: deploy
deploy: manifests $(KUSTOMIZE) $(KUBECTL) ## Deploy the operator image IMG to the cluster without OLM.
	rm -rf $(WORKDIR)/deploy && mkdir -p $(WORKDIR)/deploy && cp -r config $(WORKDIR)/deploy/ && \
		cd $(WORKDIR)/deploy/config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build $(WORKDIR)/deploy/config/default | $(KUBECTL) apply --server-side --force-conflicts -f -

.PHONY: undeploy
undeploy: $(KUSTOMIZE) $(KUBECTL) ## Remove what deploy installed.
	$(KUSTOMIZE) build config/default | $(KUBECTL) delete --ignore-not-found -f -

include hack/node.mk
include hack/olm.mk
include hack/operator-sdk.mk
