package scorecard

// Test names: the last entrypoint word and the test=<name> label in
// bundle/tests/scorecard/config.yaml.
const (
	BasicCheckSpec        = "basic-check-spec"
	OLMBundleValidation   = "olm-bundle-validation"
	OLMCRDsHaveValidation = "olm-crds-have-validation"
	OLMCRDsHaveResources  = "olm-crds-have-resources"
	OLMSpecDescriptors    = "olm-spec-descriptors"
	OLMStatusDescriptors  = "olm-status-descriptors"
	OLMUpgradeReadiness   = "olm-crd-upgrade-safe"

	// Behaviour tests: they need the operator running against the cluster.
	MemcachedExample  = "memcached-example-reconciles"
	MemcachedScaling  = "memcached-scaling"
	MemcachedRecovers = "memcached-recovers-deployment"
	MemcachedRestrict = "memcached-pods-restricted"
)

// Tests lists every scorecard test: its name, whether it needs a cluster, and
// its body. Run, Names and the test image find tests here and nowhere else.
func Tests() []Test {
	return []Test{
		{Name: BasicCheckSpec, Run: checkSpec},
		{Name: OLMBundleValidation, Run: bundleValidation},
		{Name: OLMCRDsHaveValidation, Run: crdsHaveValidation},
		{Name: OLMCRDsHaveResources, Run: crdsHaveResources},
		{Name: OLMSpecDescriptors, Run: specDescriptors},
		{Name: OLMStatusDescriptors, Run: statusDescriptors},
		{Name: OLMUpgradeReadiness, Run: upgradeReadiness},
		{Name: MemcachedExample, Cluster: true, Run: exampleReconciles},
		{Name: MemcachedScaling, Cluster: true, Run: scaling},
		{Name: MemcachedRecovers, Cluster: true, Run: recovers},
		{Name: MemcachedRestrict, Cluster: true, Run: podsRestricted},
	}
}
