# operator-sdk itself (included by the Makefile): where it is found, the
# images its commands run by default, and the tests that hold this
# repository to it.

##@ operator-sdk (v1.42, found on PATH; nothing here builds or downloads it)

# As in operator-sdk's own scaffold, OPERATOR_SDK is the operator-sdk on PATH
# unless given. SCORECARD_TEST_BIN is the binary of operator-sdk's
# scorecard-test image (default: next to OPERATOR_SDK), which
# scorecard-test-image puts in an image.
OPERATOR_SDK_VERSION ?= v1.42.3
OPERATOR_SDK ?= $(shell command -v operator-sdk 2>/dev/null)
SCORECARD_TEST_BIN ?= $(if $(OPERATOR_SDK),$(wildcard $(dir $(OPERATOR_SDK))scorecard-test))
export OPERATOR_SDK SCORECARD_TEST_BIN

.PHONY: operator-sdk
operator-sdk: ## Say which operator-sdk OPERATOR_SDK names (from PATH unless given); it cannot be built or downloaded here.
	@[ -n "$(OPERATOR_SDK)" ] || { echo "error: operator-sdk is not on PATH: install operator-sdk $(OPERATOR_SDK_VERSION) (https://sdk.operatorframework.io/docs/installation/) or set OPERATOR_SDK=/path/to/operator-sdk" >&2; exit 1; }
	@$(OPERATOR_SDK) version

# The images operator-sdk's commands run by default where no flag names
# another (run bundle-upgrade's decompression image, which needs sh, cat and
# gzip): stand-ins built here, pushed to LOCAL_REGISTRY, where the real node
# finds them for their registries (make/node.mk), as a registry mirror would
# hold them on an air-gapped cluster. OLM's util image has those commands.
OPERATOR_SDK_DECOMPRESSION_IMAGE ?= registry.access.redhat.com/ubi9/ubi:9.8

.PHONY: operator-sdk-images
operator-sdk-images: olm-util-image ## Push stand-ins for the images operator-sdk runs by default (bundle-upgrade's decompression image) where the real node pulls them.
	@$(IMAGE_ENV) hack/image.sh $(OPERATOR_SDK_DECOMPRESSION_IMAGE) hack/images/util/Containerfile $(WORKDIR)/images/olm-util

# operator-sdk's own scorecard tests, as its scaffold's config/scorecard names them.
SCORECARD_TEST_IMAGE ?= quay.io/operator-framework/scorecard-test:$(OPERATOR_SDK_VERSION)

.PHONY: scorecard-test-image
scorecard-test-image: deps registry-up ## Build operator-sdk's scorecard-test image (SCORECARD_TEST_IMAGE) from SCORECARD_TEST_BIN and push it where the real node pulls it.
	@[ -x "$(SCORECARD_TEST_BIN)" ] || { echo "error: SCORECARD_TEST_BIN=$(SCORECARD_TEST_BIN) is not operator-sdk's scorecard-test binary: set it (the binary of quay.io/operator-framework/scorecard-test)" >&2; exit 1; }
	@mkdir -p $(WORKDIR)/images/scorecard-test && cp $(SCORECARD_TEST_BIN) $(WORKDIR)/images/scorecard-test/scorecard-test
	@$(IMAGE_ENV) hack/image.sh $(SCORECARD_TEST_IMAGE) hack/images/scorecard-test/Containerfile $(WORKDIR)/images/scorecard-test

.PHONY: test-operator-sdk
test-operator-sdk: $(KUSTOMIZE) ## Hold the repository to operator-sdk (OPERATOR_SDK): bundle validate on bundle/ and every release, generate bundle equal to make bundle's but for the documented differences, generate kustomize manifests on PROJECT.
	KUSTOMIZE=$(KUSTOMIZE) IMG=$(IMG) SCORECARD_IMG=$(SCORECARD_IMG) VERSION=$(VERSION) PACKAGE=$(PACKAGE) CHANNELS=$(CHANNELS) DEFAULT_CHANNEL=$(DEFAULT_CHANNEL) \
		$(GOTEST) $(TEST_FLAGS) -count=1 -v -tags $(GO_TAGS),operatorsdk ./test/operatorsdk/...
