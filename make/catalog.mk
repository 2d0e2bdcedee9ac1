# The file-based catalog (included by the Makefile): render, analyse, release,
# the release gate (catalog-diff) and the catalog image.

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
	@SDK=$(SDK) WORKDIR=$(WORKDIR) CATALOG_DIFF_BASE=$(CATALOG_DIFF_BASE) hack/catalog-diff.sh

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

