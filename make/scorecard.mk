# Scorecard (included by the Makefile): every suite against the bundle run by
# OLM on the local cluster, and the test image.

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

