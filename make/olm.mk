# OLM (included by the Makefile): on the local cluster as local processes, run
# bundle / cleanup through it, and OLM in the cluster from images built here.

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

# OLM in the cluster: OLM's own images, built here, and the lane switch of
# olm-up/olm-down. OLM_LANE=local (the default) runs OLM's operators as local
# processes, as `make test` does; OLM_LANE=in-cluster runs them as Deployments
# on the real node (make cluster-up NODE_LANE=real) from these images, so that
# OLM serves catalog images and unpacks bundle images itself, as on any cluster.

##@ OLM in the cluster (make olm-up OLM_LANE=in-cluster, on a cluster with a real node)

# Where OLM runs: `local` (processes on this machine) or `in-cluster`.
OLM_LANE ?= local
ifeq ($(filter local in-cluster,$(OLM_LANE)),)
$(error OLM_LANE=$(OLM_LANE): want local or in-cluster)
endif

# OLM's images, pulled by the node from the local registry (IMAGE_REGISTRY_HOST
# is mirrored there, make/node.mk).
OLM_IMG ?= $(IMAGE_REGISTRY_HOST)/olm:$(OLM_VERSION)
OLM_OPM_IMG ?= $(IMAGE_REGISTRY_HOST)/opm:$(OPERATOR_REGISTRY_VERSION)
OLM_UTIL_IMG ?= $(IMAGE_REGISTRY_HOST)/olm-util:$(OLM_VERSION)
# A static busybox gives the opm and util images their shell and applets
# (Debian's busybox-static).
BUSYBOX ?= /bin/busybox

CPB := $(LOCALBIN)/cpb
PACKAGE_SERVER := $(LOCALBIN)/package-server
COPY_CONTENT := $(LOCALBIN)/copy-content
GRPC_HEALTH_PROBE := $(LOCALBIN)/grpc_health_probe

$(CPB): hack/tools/olm/go.mod hack/tools/olm/go.sum
	$(BUILD_TOOL) olm $@ github.com/operator-framework/operator-lifecycle-manager/util/cpb -ldflags "-s -w"
$(PACKAGE_SERVER): hack/tools/olm/go.mod hack/tools/olm/go.sum
	$(BUILD_TOOL) olm $@ github.com/operator-framework/operator-lifecycle-manager/cmd/package-server -ldflags "-s -w"
$(COPY_CONTENT): hack/tools/olm/go.mod hack/tools/olm/go.sum
	$(BUILD_TOOL) olm $@ github.com/operator-framework/operator-lifecycle-manager/cmd/copy-content -ldflags "-s -w"
$(GRPC_HEALTH_PROBE): hack/tools/grpc-health-probe/go.mod hack/tools/grpc-health-probe/go.sum
	$(BUILD_TOOL) grpc-health-probe $@ github.com/grpc-ecosystem/grpc-health-probe -ldflags "-s -w"

# The opm image (hack/opm-image.sh, hack/images/opm) carries grpc_health_probe,
# which OLM's registry pods run, so catalog images built on it (catalog-build)
# can be served by OLM.
opm-image: $(GRPC_HEALTH_PROBE)
opm-image: export GRPC_HEALTH_PROBE := $(GRPC_HEALTH_PROBE)
opm-image: export BUSYBOX := $(BUSYBOX)

OPM_IMAGE_ENV = $(IMAGE_ENV) OPM=$(OPM) OPM_IMAGE=$(OLM_OPM_IMG) WORKDIR=$(WORKDIR) \
	GRPC_HEALTH_PROBE=$(GRPC_HEALTH_PROBE) BUSYBOX=$(BUSYBOX)

.PHONY: olm-opm-image
olm-opm-image: $(OPM) $(GRPC_HEALTH_PROBE) deps registry-up ## Build the opm image OLM_OPM_IMG (opm, grpc_health_probe, sh; /configs) and push it to the local registry.
	@$(OPM_IMAGE_ENV) hack/opm-image.sh

.PHONY: olm-images
olm-images: $(OLM) $(OLM_CATALOG) $(PACKAGE_SERVER) olm-opm-image olm-util-image ## Build OLM's images (OLM_IMG, OLM_OPM_IMG, OLM_UTIL_IMG) and push them to the local registry.
	@mkdir -p $(WORKDIR)/images/olm
	@cp $(OLM) $(WORKDIR)/images/olm/olm && cp $(OLM_CATALOG) $(WORKDIR)/images/olm/catalog && cp $(PACKAGE_SERVER) $(WORKDIR)/images/olm/package-server
	@$(IMAGE_ENV) hack/image.sh $(OLM_IMG) hack/images/olm/Containerfile $(WORKDIR)/images/olm

.PHONY: olm-util-image
olm-util-image: $(CPB) $(COPY_CONTENT) deps registry-up ## Build the util image OLM_UTIL_IMG (cpb, copy-content, busybox's cp/tar/gzip: OLM's bundle unpack Job, scorecard's untar) and push it.
	@mkdir -p $(WORKDIR)/images/olm-util
	@cp $(CPB) $(COPY_CONTENT) $(BUSYBOX) $(WORKDIR)/images/olm-util/
	@$(IMAGE_ENV) hack/image.sh $(OLM_UTIL_IMG) hack/images/util/Containerfile $(WORKDIR)/images/olm-util

# olm-up/olm-down (above) take the lane from here.
OLM_ENV += OLM_LANE=$(OLM_LANE) OLM_IMAGE=$(OLM_IMG) OLM_OPM_IMAGE=$(OLM_OPM_IMG) OLM_UTIL_IMAGE=$(OLM_UTIL_IMG)
olm-up: $(if $(filter in-cluster,$(OLM_LANE)),olm-images)

.PHONY: catalog-images
catalog-images: olm-opm-image release-images ## Build and push the catalog image CATALOG_IMG (catalog/, on OLM_OPM_IMG) and every image it names (release-images), for OLM in the cluster.
	@$(IMAGE_ENV) hack/image.sh $(CATALOG_IMG) catalog.Dockerfile . --build-arg OPM_IMAGE=$(OLM_OPM_IMG)

RELEASE_IMAGES_ENV = $(IMAGE_ENV) RELEASES=config/catalog/releases SOURCES=config/catalog/release-sources.yaml WORKDIR=$(WORKDIR) \
	BASE_IMAGE=$(BASE_IMAGE) BUNDLE_IMG_BASE=$(BUNDLE_IMG_BASE) SDK=$(SDK)

.PHONY: release-images
release-images: deps registry-up sdk ## Build every release's operator image from its own source (config/catalog/release-sources.yaml) and its bundle image from config/catalog/releases; push them to the local registry.
	@$(RELEASE_IMAGES_ENV) hack/release-images.sh

.PHONY: release-bundle-images
release-bundle-images: deps registry-up sdk ## Build every release's bundle image from config/catalog/releases and push it to LOCAL_REGISTRY (operator-sdk reads them from the HTTPS one: LOCAL_REGISTRY=127.0.0.1:5443).
	@$(RELEASE_IMAGES_ENV) PARTS=bundle hack/release-images.sh

# The bundle images as this host pulls them (run bundle reads a bundle image
# here before the cluster does): the local registry, not the node's mirror name.
LOCAL_BUNDLE_IMG_BASE = $(LOCAL_HTTP_REGISTRY)/$(patsubst $(IMAGE_REGISTRY_HOST)/%,%,$(BUNDLE_IMG_BASE))

.PHONY: test-olm-node
test-olm-node: catalog-images ## On the real-node cluster with OLM in it: OLM serves the catalog image, unpacks bundle images, runs every release's operator image; upgrades along every channel; run bundle / bundle-upgrade / cleanup with a registry pod.
	RELIABILITY_REPORT=$(RELIABILITY_REPORT) RELIABILITY_FULL=$(RELIABILITY_FULL) CATALOG_IMG=$(CATALOG_IMG) BUNDLE_IMG=$(BUNDLE_IMG) IMG=$(IMG) PACKAGE=$(PACKAGE) VERSION=$(VERSION) CHANNEL=$(DEFAULT_CHANNEL) CATALOG_DIR=$(CURDIR)/catalog \
		OPM_IMAGE=$(OLM_OPM_IMG) FRONT_PROXY_DIR=$(WORKDIR)/front-proxy LOCAL_BUNDLE_IMG_BASE=$(LOCAL_BUNDLE_IMG_BASE) \
		$(GOTEST) $(TEST_FLAGS) -count=1 -v -tags $(GO_TAGS),olmnode -timeout 40m ./test/olm-node/...
