// Package managerenv names the environment variables the manager reads and
// the CSV sets: the contract between the operator and its packaging, which
// both the reconciler and the CSV builder and bundle validator import
// without the packaging depending on the reconciler.
package managerenv

// WatchNamespace holds the namespaces the manager watches: "" for all, "a"
// or "a,b". OLM sets it from the OperatorGroup's target namespaces (the CSV's
// olm.targetNamespaces annotation).
const WatchNamespace = "WATCH_NAMESPACE"

// RelatedImage names the operand (memcached) image in the manager's
// environment: OLM and operator-sdk's relatedImages convention
// (RELATED_IMAGE_*), so mirrors copy the image the CSV lists.
const RelatedImage = "RELATED_IMAGE_MEMCACHED"
