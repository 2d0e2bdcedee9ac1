package bundle

import (
	"path/filepath"
	"slices"
	"testing"

	"github.com/operator-framework/api/pkg/manifests"
	"github.com/operator-framework/api/pkg/operators/v1alpha1"
)

// The listing checks on our bundle, then on what operator-sdk's scaffolding
// leaves in a CSV base and on values OperatorHub would not accept: each
// finding names the field and says what to do.
func TestHubMetadata(t *testing.T) {
	for _, tc := range []struct {
		name string
		edit func(c *v1alpha1.ClusterServiceVersion)
		want []string
	}{
		{"our bundle", func(*v1alpha1.ClusterServiceVersion) {}, nil},
		{"scaffolded", func(c *v1alpha1.ClusterServiceVersion) {
			c.Spec.Description = "memcached-operator description. TODO."
			c.Spec.Provider = v1alpha1.AppLink{Name: "Provider Name", URL: "https://your.domain"}
			c.Spec.Maintainers = []v1alpha1.Maintainer{{Name: "Maintainer Name", Email: "your@email.com"}}
			c.Spec.Links = []v1alpha1.AppLink{{Name: "Memcached Operator", URL: "https://memcached-operator.domain"}}
			c.Spec.Icon = []v1alpha1.Icon{{Data: "", MediaType: ""}}
			c.Spec.Keywords = nil
			delete(c.Annotations, "support")
		}, []string{
			`spec.description: long description "memcached-operator description. TODO." is a placeholder (TODO): write the real one; set it in the CSV base (config/manifests/bases)`,
			`spec.provider.name: provider "Provider Name" is a placeholder (Provider Name): write the real one; set it in the CSV base (config/manifests/bases)`,
			`metadata.annotations.support: no support: OperatorHub shows it; set it in the CSV base (config/manifests/bases)`,
			`spec.keywords: no keywords: OperatorHub's search uses them; set it in the CSV base (config/manifests/bases)`,
			`spec.maintainers[0].name: maintainer name "Maintainer Name" is a placeholder (Maintainer Name): write the real one; set it in the CSV base (config/manifests/bases)`,
			`spec.maintainers[0].email: maintainer email "your@email.com" is a placeholder (your@email.com): write the real one; set it in the CSV base (config/manifests/bases)`,
			`spec.links[0].url: link "https://memcached-operator.domain" is a placeholder (.domain): write the real one; set it in the CSV base (config/manifests/bases)`,
			`spec.icon: no icon: OperatorHub shows OLM's default picture; set it in the CSV base (config/manifests/bases) (base64data and mediatype)`,
		}},
		{"values OperatorHub does not know", func(c *v1alpha1.ClusterServiceVersion) {
			c.Annotations["capabilities"] = "Basic"
			c.Annotations["categories"] = "Database, Caches"
			c.Annotations["repository"] = "github.com/example-inc/memcached-operator"
			c.Annotations["createdAt"] = "yesterday"
			c.Annotations["containerImage"] = "example.com/other:v1"
		}, []string{
			`metadata.annotations.capabilities: csv.Metadata.Annotations.Capabilities "Basic" is not a valid capabilities level (operator-framework/api); set it in the CSV base (config/manifests/bases)`,
			`metadata.annotations.categories: csv.Metadata.Annotations["categories"] value " Caches" is not in the set of standard categories (operator-framework/api); set it in the CSV base (config/manifests/bases)`,
			`metadata.annotations.repository: "github.com/example-inc/memcached-operator" is not an http(s) URL`,
			`metadata.annotations.createdAt: createdAt "yesterday" is not an RFC 3339 time (make bundle sets it)`,
			`metadata.annotations.containerImage: containerImage example.com/other:v1 is not the image of any container the CSV deploys (example.com/memcached-operator:v0.3.2): make bundle sets it from IMG`,
		}},
		// The lists are operator-framework/api's: a category it added is
		// accepted, one it dropped is refused.
		{"a category operator-framework/api knows", func(c *v1alpha1.ClusterServiceVersion) {
			c.Annotations["categories"] = "Database,Observability"
		}, nil},
		{"a category operator-framework/api does not know", func(c *v1alpha1.ClusterServiceVersion) {
			c.Annotations["categories"] = "Drivers and plugins"
		}, []string{
			`metadata.annotations.categories: csv.Metadata.Annotations["categories"] value "Drivers and plugins" is not in the set of standard categories (operator-framework/api); set it in the CSV base (config/manifests/bases)`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := manifests.GetBundleFromDir(filepath.Join("..", "..", "bundle"))
			if err != nil {
				t.Fatal(err)
			}
			tc.edit(b.CSV)
			var got []string
			for _, e := range checkHubMetadata(b).Errors {
				got = append(got, e.Field+": "+e.Detail)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings:\n%s\nwant:\n%s", join(got), join(tc.want))
			}
		})
	}
}

func join(s []string) string {
	out := ""
	for _, l := range s {
		out += "  " + l + "\n"
	}
	return out
}
