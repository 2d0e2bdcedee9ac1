package readme

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/catalog"
	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/test/framework"
)

// Check is what a user looks at after a block: run in the scenario's
// working directory dir with the marker's arguments.
type Check struct {
	// Args names the arguments, for the error on a marker that gives others.
	Args []string
	Run  func(ctx context.Context, dir string, args []string) error
}

// Checks are the checks a marker may name.
var Checks = map[string]Check{
	"nothing-left": {Args: []string{"KUBECONFIG", "NAMESPACE", "PACKAGE"}, Run: nothingLeft},
	"released":     {Args: []string{"PACKAGE", "VERSION", "CHANNELS"}, Run: released},
}

// CheckArgs says whether a block's check exists and has its arguments.
func CheckArgs(b Block) error {
	if len(b.Check) == 0 {
		return nil
	}
	c, ok := Checks[b.Check[0]]
	if !ok {
		return fmt.Errorf("README line %d: check %q is not one of test/readme's Checks", b.Line-1, b.Check[0])
	}
	if len(b.Check)-1 != len(c.Args) {
		return fmt.Errorf("README line %d: check %s takes %s", b.Line-1, b.Check[0], strings.Join(c.Args, " "))
	}
	return nil
}

// nothingLeft: after cleanup, nothing of PACKAGE is in NAMESPACE or the
// cluster KUBECONFIG names (framework.Leftovers).
func nothingLeft(ctx context.Context, dir string, args []string) error {
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(dir, args[0]))
	if err != nil {
		return err
	}
	c, err := client.New(cfg, client.Options{Scheme: kubeclient.Scheme()})
	if err != nil {
		return err
	}
	left, err := framework.Leftovers(ctx, c, args[2], args[1])
	if err != nil {
		return err
	}
	if len(left) > 0 {
		return fmt.Errorf("left in the cluster after cleanup: %s", strings.Join(left, ", "))
	}
	return nil
}

// released: catalog/ holds PACKAGE VERSION as the head of each of CHANNELS
// (comma-separated), as operator-registry's model sees it.
func released(ctx context.Context, dir string, args []string) error {
	cfg, err := catalog.Load(ctx, filepath.Join(dir, "catalog"))
	if err != nil {
		return err
	}
	m, err := declcfg.ConvertToModel(*cfg)
	if err != nil {
		return err
	}
	pkg, want := m[args[0]], args[0]+".v"+args[1]
	if pkg == nil {
		return fmt.Errorf("catalog/ has no package %s", args[0])
	}
	for _, ch := range strings.Split(args[2], ",") {
		c := pkg.Channels[ch]
		if c == nil {
			return fmt.Errorf("catalog/: package %s has no channel %s", args[0], ch)
		}
		head, err := c.Head()
		if err != nil {
			return fmt.Errorf("catalog/: channel %s: %w", ch, err)
		}
		if head.Name != want {
			return fmt.Errorf("catalog/: channel %s's head is %s, want %s", ch, head.Name, want)
		}
	}
	return nil
}
