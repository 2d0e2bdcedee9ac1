# Benchmarks (included by the Makefile).

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

