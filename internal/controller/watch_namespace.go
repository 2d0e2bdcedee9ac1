package controller

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/example-inc/memcached-operator/internal/managerenv"
)

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
			return nil, fmt.Errorf("%s=%q: %q is not a namespace name: %s", managerenv.WatchNamespace, v, ns, strings.Join(errs, "; "))
		}
		out = append(out, ns)
	}
	return out, nil
}
