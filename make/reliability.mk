# Reliability (included by the Makefile): the fault scenarios of docs/reliability.md.

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
