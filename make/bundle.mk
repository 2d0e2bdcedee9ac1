# The OLM bundle (included by the Makefile): bin/sdk, make bundle and its image.

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
