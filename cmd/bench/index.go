package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"github.com/operator-framework/operator-registry/alpha/property"
)

// catalogSize is one catalog B2 generates: Bundles in one package (the
// three-channel history of generate), or Packages of PerPackage bundles
// each (an index, generateIndex), written "PxB" (500x40); "+objects"
// gives every bundle its manifests (withObjects).
type catalogSize struct {
	Packages, PerPackage int
	Objects              bool
}

func parseSize(s string) (catalogSize, error) {
	if base, ok := strings.CutSuffix(s, "+objects"); ok {
		c, err := parseSize(base)
		c.Objects = true
		return c, err
	}
	if p, b, ok := strings.Cut(s, "x"); ok {
		np, err1 := strconv.Atoi(p)
		nb, err2 := strconv.Atoi(b)
		if err1 != nil || err2 != nil || np < 1 || nb < 1 {
			return catalogSize{}, fmt.Errorf("size %q: want BUNDLES or PACKAGESxBUNDLES (500x40)", s)
		}
		return catalogSize{Packages: np, PerPackage: nb}, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return catalogSize{}, fmt.Errorf("size %q: want BUNDLES or PACKAGESxBUNDLES (500x40)", s)
	}
	return catalogSize{Packages: 1, PerPackage: n}, nil
}

func (c catalogSize) String() string {
	s := strconv.Itoa(c.PerPackage)
	if c.Packages != 1 {
		s = fmt.Sprintf("%dx%d", c.Packages, c.PerPackage)
	}
	if c.Objects {
		s += "+objects"
	}
	return s
}

func (c catalogSize) bundles() int { return c.Packages * c.PerPackage }

// generateSize builds the catalog of a size.
func generateSize(c catalogSize) (*declcfg.DeclarativeConfig, error) {
	var cfg *declcfg.DeclarativeConfig
	if c.Packages == 1 {
		cfg = generate(c.PerPackage)
	} else {
		cfg = generateIndex(c.Packages, c.PerPackage)
	}
	if c.Objects {
		if err := withObjects(cfg); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// generateIndex builds an index of packages as public ones hold them:
// bundles with olm.csv.metadata and an image, packages in turn upgraded by
// a replaces chain, by replaces with skips of each minor's patches, by
// skipRange heads, or by a respin (1.y.z-1) replacing its release, and
// every fifth package deprecating a channel and a bundle halfway.
func generateIndex(packages, perPackage int) *declcfg.DeclarativeConfig {
	cfg := &declcfg.DeclarativeConfig{}
	for p := 0; p < packages; p++ {
		pkg := fmt.Sprintf("operator-%03d", p)
		cfg.Packages = append(cfg.Packages, declcfg.Package{Schema: declcfg.SchemaPackage, Name: pkg, DefaultChannel: "stable"})
		stable := declcfg.Channel{Schema: declcfg.SchemaChannel, Name: "stable", Package: pkg}
		candidate := declcfg.Channel{Schema: declcfg.SchemaChannel, Name: "candidate", Package: pkg}
		var names []string
		for i := 0; i < perPackage; i++ {
			v := fmt.Sprintf("1.%d.%d", i/5, i%5)
			if p%4 == 3 && i%5 == 4 {
				v = fmt.Sprintf("1.%d.%d-1", i/5, i%5-1) // a respin of the previous patch
			}
			name := pkg + ".v" + v
			names = append(names, name)
			cfg.Bundles = append(cfg.Bundles, indexBundle(pkg, name, v))
			e := declcfg.ChannelEntry{Name: name}
			if i > 0 {
				e.Replaces = names[i-1]
			}
			candidate.Entries = append(candidate.Entries, e)
			switch {
			case p%4 == 1 && i%5 == 4: // replaces the last minor's head, skips its own patches
				s := declcfg.ChannelEntry{Name: name}
				if i >= 5 {
					s.Replaces = names[i-5]
				}
				s.Skips = append([]string(nil), names[i-4:i]...)
				stable.Entries = append(stable.Entries, s)
			case p%4 == 2 && i%5 == 4: // one hop from anything older
				stable.Entries = append(stable.Entries, declcfg.ChannelEntry{Name: name, SkipRange: fmt.Sprintf(">=1.0.0 <%s", v)})
			case p%4 == 0 || p%4 == 3:
				stable.Entries = append(stable.Entries, e)
			}
		}
		if len(stable.Entries) == 0 {
			stable.Entries = candidate.Entries
		}
		fixStableHeads(&stable)
		cfg.Channels = append(cfg.Channels, stable, candidate)
		if p%5 == 0 {
			cfg.Deprecations = append(cfg.Deprecations, declcfg.Deprecation{Schema: declcfg.SchemaDeprecation, Package: pkg, Entries: []declcfg.DeprecationEntry{
				{Reference: declcfg.PackageScopedReference{Schema: declcfg.SchemaChannel, Name: "candidate"}, Message: "use stable"},
				{Reference: declcfg.PackageScopedReference{Schema: declcfg.SchemaBundle, Name: names[len(names)/2]}, Message: "loses data on upgrade"},
			}})
		}
	}
	return cfg
}

// fixStableHeads chains the skipRange-only entries of a stable channel
// with replaces, so the channel has one head.
func fixStableHeads(ch *declcfg.Channel) {
	for i := 1; i < len(ch.Entries); i++ {
		if ch.Entries[i].Replaces == "" && len(ch.Entries[i].Skips) == 0 {
			ch.Entries[i].Replaces = ch.Entries[i-1].Name
		}
	}
}

func indexBundle(pkg, name, v string) declcfg.Bundle {
	meta, _ := json.Marshal(map[string]any{
		"displayName": pkg, "description": "Runs " + pkg + " and keeps it at the size you ask for, with status and conditions.",
		"provider":     map[string]string{"name": "Example"},
		"installModes": []map[string]any{{"type": "OwnNamespace", "supported": true}, {"type": "AllNamespaces", "supported": true}},
	})
	return declcfg.Bundle{
		Schema: declcfg.SchemaBundle, Name: name, Package: pkg, Image: "example.com/" + pkg + "-bundle:v" + v,
		Properties: []property.Property{property.MustBuildPackage(pkg, v), {Type: property.TypeCSVMetadata, Value: meta}},
	}
}
