package controller

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// WatchNamespaceEnv is the environment variable OLM sets from the
// OperatorGroup's target namespaces (the CSV's olm.targetNamespaces annotation).
const WatchNamespaceEnv = "WATCH_NAMESPACE"

// ParseWatchNamespace reads WATCH_NAMESPACE as OLM sets it from an
// OperatorGroup's target namespaces: "" watches every namespace, "a" one,
// "a,b" several.
func ParseWatchNamespace(v string) ([]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var out []string
	for _, ns := range strings.Split(v, ",") {
		ns = strings.TrimSpace(ns)
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return nil, fmt.Errorf("%s=%q: %q is not a namespace name: %s", WatchNamespaceEnv, v, ns, strings.Join(errs, "; "))
		}
		out = append(out, ns)
	}
	return out, nil
}
