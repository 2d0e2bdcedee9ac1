# memcached-operator: an OLM-first Go operator. `make help` is the map.

##@ Configuration (every variable can be overridden: make VAR=value)

# The release `make bundle` writes. REPLACES is the version it upgrades from;
# SKIP_RANGE (optional) the olm.skipRange, e.g. '>=0.1.0 <0.2.0'.
VERSION ?= 0.1.0
REPLACES ?= 0.2.0
SKIP_RANGE ?=
PACKAGE ?= memcached-operator
CHANNELS ?= fast,stable
DEFAULT_CHANNEL ?= stable
# The Kubernetes version whose removed APIs the bundle must not use.
K8S_TARGET_VERSION ?= 0.1.0

IMAGE_TAG_BASE ?= example.com/memcached-operator
IMG ?= $(IMAGE_TAG_BASE):v$(VERSION)
BUNDLE_IMG ?= $(IMAGE_TAG_BASE)-bundle:v$(VERSION)
# Optional digests pin the images in the CSV (relatedImages, containerImage).
IMG_DIGEST ?=
OPERATOR_IMAGE = $(if $(IMG_DIGEST),$(firstword $(subst :, ,$(IMG)))@$(IMG_DIGEST),$(IMG))

# Where tools and local state live; both are ignored by git.
LOCALBIN ?= $(CURDIR)/bin
WORKDIR ?= $(CURDIR)/.work

# operator-registry's image code needs these tags to build without cgo/gpgme.
# (Test targets that add a tag of their own repeat these: -tags replaces, it does not add.)
GO_TAGS := containers_image_openpgp,json1
export GOFLAGS := $(strip $(GOFLAGS) -tags=$(GO_TAGS))

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

##@ Tool versions (pinned in hack/tools/<group>/go.mod; listed here for `make help` readers)

K8S_VERSION ?= v1.37.2
ETCD_VERSION ?= v3.6.8
KWOK_VERSION ?= v0.8.0
CONTROLLER_TOOLS_VERSION ?= v0.23.0
KUSTOMIZE_VERSION ?= v5.8.2
OPERATOR_REGISTRY_VERSION ?= v1.74.0
DISTRIBUTION_VERSION ?= v3.1.2
OLM_VERSION ?= v0.42.0

BUILD_TOOL := hack/build-tool.sh
K8S_LDFLAGS := -ldflags "-s -w \
	-X k8s.io/component-base/version.gitVersion=$(K8S_VERSION) \
	-X k8s.io/component-base/version.gitMajor=$(word 1,$(subst ., ,$(K8S_VERSION:v%=%))) \
	-X k8s.io/component-base/version.gitMinor=$(word 2,$(subst ., ,$(K8S_VERSION:v%=%))) \
	-X k8s.io/component-base/version.gitTreeState=clean"

KUBE_APISERVER ?= $(LOCALBIN)/kube-apiserver
KUBE_CONTROLLER_MANAGER ?= $(LOCALBIN)/kube-controller-manager
KUBE_SCHEDULER ?= $(LOCALBIN)/kube-scheduler
KUBECTL ?= $(LOCALBIN)/kubectl
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
CLUSTER_NAME ?= memcached
LOCAL_KUBECONFIG := $(WORKDIR)/kubeconfig
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
demo: deps build cluster-up install ## The main job: local cluster, CRD, operator running, sample reconciled and scaled.
	KUBECTL=$(KUBECTL) MANAGER=$(LOCALBIN)/manager WORKDIR=$(WORKDIR) hack/demo.sh

.PHONY: demo-down
demo-down: cluster-down ## Stop what demo started.

.PHONY: deps
deps: ## Install the system packages the targets use (buildah), if missing.
	@command -v buildah >/dev/null 2>&1 || command -v docker >/dev/null 2>&1 || { \
		echo "==> installing buildah (apt)"; \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah >/dev/null; } || \
		$${SUDO:-sudo} sh -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq buildah >/dev/null'; }

.PHONY: help
help: ## Show this map of targets.
	@awk 'BEGIN {FS = ":.*##"; printf "\nUsage:\n  make \033[36m<target>\033[0m\n"} /^[a-zA-Z_0-9-]+:.*?##/ { printf "  \033[36m%-20s\033[0m %s\n", $$1, $$2 } /^##@/ { printf "\n\033[1m%s\033[0m\n", substr($$0, 5) } ' $(MAKEFILE_LIST)

##@ Tools (built from pinned Go modules into bin/; nothing is downloaded prebuilt)

.PHONY: tools
tools: gen-tools cluster-tools ## Build every tool the default targets need.

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
$(KUBE_APISERVER): hack/tools/k8s/go.mod hack/tools/k8s/go.sum
	$(BUILD_TOOL) k8s $@ k8s.io/kubernetes/cmd/kube-apiserver $(K8S_LDFLAGS)
$(KUBE_CONTROLLER_MANAGER): hack/tools/k8s/go.mod hack/tools/k8s/go.sum
	$(BUILD_TOOL) k8s $@ k8s.io/kubernetes/cmd/kube-controller-manager $(K8S_LDFLAGS)
$(KUBE_SCHEDULER): hack/tools/k8s/go.mod hack/tools/k8s/go.sum
	$(BUILD_TOOL) k8s $@ k8s.io/kubernetes/cmd/kube-scheduler $(K8S_LDFLAGS)
$(KUBECTL): hack/tools/k8s/go.mod hack/tools/k8s/go.sum
	$(BUILD_TOOL) k8s $@ k8s.io/kubernetes/cmd/kubectl $(K8S_LDFLAGS)
$(KWOK): hack/tools/kwok/go.mod hack/tools/kwok/go.sum
	$(BUILD_TOOL) kwok $@ sigs.k8s.io/kwok/cmd/kwok
$(KWOKCTL): hack/tools/kwok/go.mod hack/tools/kwok/go.sum
	$(BUILD_TOOL) kwok $@ sigs.k8s.io/kwok/cmd/kwokctl

##@ Development

.PHONY: manifests
manifests: $(CONTROLLER_GEN) ## Generate the CRD and the manager's ClusterRole from markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths="./..." output:crd:artifacts:config=config/crd/bases

.PHONY: generate
generate: $(CONTROLLER_GEN) ## Generate DeepCopy methods.
	$(CONTROLLER_GEN) object:headerFile="hack/boilerplate.go.txt" paths="./..."

.PHONY: fmt
fmt: ## Run go fmt.
	go fmt ./...

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: verify
verify: generate manifests fmt bundle catalog ## Regenerate everything and fail if anything committed is stale.
	@if [ -n "$$(git status --porcelain --untracked-files=all -- . ':!bin' ':!.work')" ]; then \
		echo "error: generated files are stale or unformatted; run 'make generate manifests fmt' and commit:" >&2; \
		git status --porcelain --untracked-files=all -- . ':!bin' ':!.work' >&2; git --no-pager diff --stat >&2; exit 1; fi
	@echo "verify: generated files are up to date"

##@ Test

.PHONY: test
test: deps verify vet test-unit test-integration test-e2e docker-build test-bundle-image test-catalog ## Everything CI runs: drift check, unit, envtest integration, tutorial flow on the local cluster.

.PHONY: test-unit
test-unit: ## Unit tests of the pure builders.
	$(GOTEST) $(TEST_FLAGS) -short ./...

.PHONY: test-integration
test-integration: $(KUBE_APISERVER) $(ETCD) $(KUBECTL) ## Reconciler tests against a real kube-apiserver and etcd (envtest with our binaries).
	KUBEBUILDER_ASSETS=$(LOCALBIN) $(GOTEST) $(TEST_FLAGS) -count=1 -run Integration ./controllers/...

.PHONY: test-e2e
test-e2e: build cluster-up install ## The tutorial flow on the local cluster: install, run, sample reconciled, scale.
	MANAGER_BINARY=$(LOCALBIN)/manager KUBECTL=$(KUBECTL) \
		$(GOTEST) $(TEST_FLAGS) -count=1 -tags $(GO_TAGS),e2e -timeout 10m ./test/e2e/...

##@ Build

.PHONY: build
build: generate fmt vet ## Build the manager binary.
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o $(LOCALBIN)/manager .

.PHONY: run
run: manifests generate fmt vet ## Run the operator on this machine against the cluster KUBECONFIG names (default: the local one).
	go run . --health-probe-bind-address=0

.PHONY: docker-build
docker-build: build ## Build the operator image with CONTAINER_TOOL (buildah works here without a daemon).
	$(CONTAINER_TOOL) $(BUILD_FLAGS) --build-arg BASE_IMAGE=$(BASE_IMAGE) -t $(IMG) .

.PHONY: docker-push
docker-push: ## Push the operator image.
	$(CONTAINER_TOOL) $(if $(filter buildah,$(CONTAINER_TOOL)),$(BUILDAH_FLAGS) push $(PUSH_FLAGS),push) $(IMG)

##@ Local cluster (kwok on real kube-apiserver, controller-manager, scheduler and etcd; fake nodes)

.PHONY: cluster-up
cluster-up: cluster-tools ## Start the local cluster (idempotent) and write its kubeconfig to .work/kubeconfig.
	@if $(KWOKCTL) get clusters 2>/dev/null | grep -qx $(CLUSTER_NAME) && \
		KUBECONFIG=$(LOCAL_KUBECONFIG) $(KUBECTL) get --raw /readyz >/dev/null 2>&1; then \
		echo "cluster $(CLUSTER_NAME) is up"; else \
		mkdir -p $(WORKDIR); $(KWOKCTL) delete cluster --name $(CLUSTER_NAME) >/dev/null 2>&1 || true; \
		echo "==> starting local cluster $(CLUSTER_NAME)"; \
		$(KWOKCTL) create cluster --name $(CLUSTER_NAME) --runtime binary --quiet-pull \
			--kube-apiserver-binary $(KUBE_APISERVER) --kube-controller-manager-binary $(KUBE_CONTROLLER_MANAGER) \
			--kube-scheduler-binary $(KUBE_SCHEDULER) --kwok-controller-binary $(KWOK) --etcd-binary $(ETCD) \
			--kubeconfig $(LOCAL_KUBECONFIG) --wait 120s $(KWOKCTL_CREATE_FLAGS) >$(WORKDIR)/kwokctl.log 2>&1 || \
			{ echo "error: the local cluster did not start; see $(WORKDIR)/kwokctl.log" >&2; tail -20 $(WORKDIR)/kwokctl.log >&2; exit 1; }; \
		$(KWOKCTL) scale node --name $(CLUSTER_NAME) --replicas $(CLUSTER_NODES) >>$(WORKDIR)/kwokctl.log 2>&1; \
		echo "cluster $(CLUSTER_NAME) is up: export KUBECONFIG=$(LOCAL_KUBECONFIG)"; fi

.PHONY: cluster-down
cluster-down: ## Stop the local cluster and delete its state.
	-$(KWOKCTL) delete cluster --name $(CLUSTER_NAME)
	rm -f $(LOCAL_KUBECONFIG)

.PHONY: cluster-status
cluster-status: ## Show the local cluster's components and nodes.
	$(KWOKCTL) get components --name $(CLUSTER_NAME)
	KUBECONFIG=$(LOCAL_KUBECONFIG) $(KUBECTL) get nodes

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
		--operator-image $(OPERATOR_IMAGE) --scorecard-config $(WORKDIR)/scorecard-config.yaml \
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
catalog-analyze: sdk ## Print the upgrade analysis of catalog/ (OUTPUT=json for JSON).
	$(SDK) catalog analyze catalog -o $(or $(OUTPUT),text)

.PHONY: catalog-release
catalog-release: bundle sdk ## Release bundle/ (VERSION): copy it into config/catalog/releases, add it to the template's CHANNELS, re-render.
	$(SDK) catalog release --bundle bundle --releases config/catalog/releases --template config/catalog/template.yaml \
		--image $(BUNDLE_IMG_BASE):v$(VERSION) --channels $(CHANNELS) --skip-range "$(SKIP_RANGE)"
	$(MAKE) catalog

.PHONY: opm-image
opm-image: $(OPM) deps ## Build the opm base image locally from bin/opm (nothing can be pulled here).
	@mkdir -p $(WORKDIR)/opm-image && cp $(OPM) $(WORKDIR)/opm-image/opm
	printf 'FROM scratch\nCOPY opm /bin/opm\nENTRYPOINT ["/bin/opm"]\n' > $(WORKDIR)/opm-image/Dockerfile
	$(CONTAINER_TOOL) $(BUILD_FLAGS) -t $(OPM_IMAGE) $(WORKDIR)/opm-image

.PHONY: catalog-build
catalog-build: opm-image ## Build the catalog image CATALOG_IMG (catalog.Dockerfile, cache pre-built).
	$(CONTAINER_TOOL) $(BUILD_FLAGS) -f catalog.Dockerfile --build-arg OPM_IMAGE=$(OPM_IMAGE) -t $(CATALOG_IMG) .

.PHONY: catalog-push
catalog-push: ## Push the catalog image CATALOG_IMG.
	$(MAKE) docker-push IMG=$(CATALOG_IMG)

.PHONY: test-catalog
test-catalog: catalog $(OPM) registry-up ## Serve the catalog with opm and query it over the registry gRPC API as OLM does; build and push the catalog image.
	OPM=$(OPM) CATALOG_DIR=$(LOCAL_CATALOG) $(GOTEST) $(TEST_FLAGS) -count=1 -tags $(GO_TAGS),serve ./test/catalog/...
	$(MAKE) catalog-build catalog-push CATALOG_IMG=$(LOCAL_REGISTRY)/memcached-operator-catalog:v$(VERSION) PUSH_FLAGS=--tls-verify=false

##@ Local registry (distribution, on 127.0.0.1)

LOCAL_REGISTRY ?= 127.0.0.1:5000
REGISTRY_DIR := $(WORKDIR)/registry

.PHONY: registry-up
registry-up: $(REGISTRY) ## Start a local OCI registry on LOCAL_REGISTRY (idempotent).
	@if curl -fsS http://$(LOCAL_REGISTRY)/v2/ >/dev/null 2>&1; then echo "registry is up on $(LOCAL_REGISTRY)"; else \
		mkdir -p $(REGISTRY_DIR) && \
		printf 'version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: %s}, delete: {enabled: true}}\nhttp: {addr: "%s"}\n' \
			$(REGISTRY_DIR)/data $(LOCAL_REGISTRY) > $(REGISTRY_DIR)/config.yml && \
		{ nohup $(REGISTRY) serve $(REGISTRY_DIR)/config.yml >$(REGISTRY_DIR)/registry.log 2>&1 & echo $$! > $(REGISTRY_DIR)/pid; } && \
		for i in $$(seq 50); do curl -fsS http://$(LOCAL_REGISTRY)/v2/ >/dev/null 2>&1 && break; sleep 0.2; done && \
		curl -fsS http://$(LOCAL_REGISTRY)/v2/ >/dev/null || { echo "error: registry did not start; see $(REGISTRY_DIR)/registry.log" >&2; exit 1; }; \
		echo "registry is up on $(LOCAL_REGISTRY)"; fi

.PHONY: registry-down
registry-down: ## Stop the local registry.
	-@[ -f $(REGISTRY_DIR)/pid ] && kill $$(cat $(REGISTRY_DIR)/pid) 2>/dev/null; rm -f $(REGISTRY_DIR)/pid

.PHONY: test-bundle-image
test-bundle-image: bundle registry-up $(OPM) ## Build the bundle image, push it to the local registry, render it back with opm and compare with bundle/.
	$(MAKE) bundle-build bundle-push BUNDLE_IMG=$(LOCAL_REGISTRY)/memcached-operator-bundle:v$(VERSION) PUSH_FLAGS=--tls-verify=false
	OPM=$(OPM) BUNDLE_IMG=$(LOCAL_REGISTRY)/memcached-operator-bundle:v$(VERSION) \
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
	mkdir -p $(WORKDIR)/deploy && cp -r config $(WORKDIR)/deploy/ && \
		cd $(WORKDIR)/deploy/config/manager && $(KUSTOMIZE) edit set image controller=$(IMG)
	$(KUSTOMIZE) build $(WORKDIR)/deploy/config/default | $(KUBECTL) apply --server-side -f -

.PHONY: undeploy
undeploy: $(KUSTOMIZE) $(KUBECTL) ## Remove what deploy installed.
	$(KUSTOMIZE) build config/default | $(KUBECTL) delete --ignore-not-found -f -
