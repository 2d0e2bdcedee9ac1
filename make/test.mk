# The tests (included by the Makefile): make test's suites in order, the README
# run as written, unit, envtest and the tutorial flow. The suites of a concern
# (catalog, OLM, node, registry, operator-sdk) sit in that concern's file.

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
