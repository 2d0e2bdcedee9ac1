package main

import (
	"bytes"
	"flag"
	"io"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"
)

// Flags and positional arguments may come in any order, as with
// operator-sdk's cobra commands; what Parse makes of them is what counts.
func TestReorder(t *testing.T) {
	for _, tc := range []struct {
		name      string
		args      []string
		want      []string // reordered
		namespace string   // parsed values
		deleteCRD bool
		rest      []string
		err       string
	}{
		{name: "flags after the argument", args: []string{"pkg", "--namespace", "ns", "--delete-crds"},
			want: []string{"--namespace", "ns", "--delete-crds", "pkg"}, namespace: "ns", deleteCRD: true, rest: []string{"pkg"}},
		{name: "flags before the argument", args: []string{"--namespace", "ns", "--delete-crds", "pkg"},
			want: []string{"--namespace", "ns", "--delete-crds", "pkg"}, namespace: "ns", deleteCRD: true, rest: []string{"pkg"}},
		{name: "flags between arguments", args: []string{"a", "--namespace", "ns", "b"},
			want: []string{"--namespace", "ns", "a", "b"}, namespace: "ns", rest: []string{"a", "b"}},
		{name: "--flag=value", args: []string{"pkg", "--namespace=ns"},
			want: []string{"--namespace=ns", "pkg"}, namespace: "ns", rest: []string{"pkg"}},
		{name: "one dash", args: []string{"pkg", "-namespace", "ns", "-delete-crds"},
			want: []string{"-namespace", "ns", "-delete-crds", "pkg"}, namespace: "ns", deleteCRD: true, rest: []string{"pkg"}},
		{name: "a boolean takes no value", args: []string{"--delete-crds", "pkg"},
			want: []string{"--delete-crds", "pkg"}, namespace: "default", deleteCRD: true, rest: []string{"pkg"}},
		{name: "a boolean with =false", args: []string{"--delete-crds=false", "pkg"},
			want: []string{"--delete-crds=false", "pkg"}, namespace: "default", rest: []string{"pkg"}},
		{name: "-- ends the flags", args: []string{"--namespace", "ns", "--", "-odd", "--delete-crds"},
			want: []string{"--namespace", "ns", "--", "-odd", "--delete-crds"}, namespace: "ns", rest: []string{"-odd", "--delete-crds"}},
		{name: "arguments before -- stay first", args: []string{"a", "--", "b"},
			want: []string{"--", "a", "b"}, namespace: "default", rest: []string{"a", "b"}},
		{name: "- is an argument", args: []string{"-", "--namespace", "ns"},
			want: []string{"--namespace", "ns", "-"}, namespace: "ns", rest: []string{"-"}},
		{name: "no arguments", args: nil, want: nil, namespace: "default"},
		{name: "a value that looks like a flag", args: []string{"pkg", "--namespace", "-x"},
			want: []string{"--namespace", "-x", "pkg"}, namespace: "-x", rest: []string{"pkg"}},
		{name: "a value missing at the end", args: []string{"pkg", "--namespace"},
			want: []string{"--namespace"}, err: "flag needs an argument: -namespace"},
		{name: "an unknown flag", args: []string{"pkg", "--nope", "x"},
			want: []string{"--nope", "x", "pkg"}, err: "flag provided but not defined: -nope"},
		{name: "an unknown flag=value", args: []string{"--nope=x", "pkg"},
			want: []string{"--nope=x", "pkg"}, err: "flag provided but not defined: -nope"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := flag.NewFlagSet("cleanup", flag.ContinueOnError)
			fs.SetOutput(io.Discard)
			deleteCRDs := fs.Bool("delete-crds", false, "")
			namespace := fs.String("namespace", "default", "")
			got := reorder(fs, tc.args)
			if !slices.Equal(got, tc.want) {
				t.Errorf("reorder(%q) = %q, want %q", tc.args, got, tc.want)
			}
			err := fs.Parse(got)
			if tc.err != "" {
				if err == nil || err.Error() != tc.err {
					t.Errorf("Parse: err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *namespace != tc.namespace || *deleteCRDs != tc.deleteCRD || !slices.Equal(fs.Args(), tc.rest) {
				t.Errorf("parsed namespace=%q delete-crds=%v args=%q, want %q %v %q", *namespace, *deleteCRDs, fs.Args(), tc.namespace, tc.deleteCRD, tc.rest)
			}
		})
	}
}

// bundle dockerfile names the bundle's directories relative to the build
// context: a released bundle built from its own directory, or bundle/ from
// the checkout, as bundle.Dockerfile does.
func TestBundleDockerfile(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string // a line of the output
		err  bool
	}{
		{[]string{"bundle", "dockerfile", "../../config/catalog/releases/memcached-operator.v0.1.0", "--context", "../../config/catalog/releases/memcached-operator.v0.1.0"}, "COPY manifests /manifests/", false},
		{[]string{"bundle", "dockerfile", "--context", "../..", "../../bundle"}, "COPY bundle/tests/scorecard /tests/scorecard/", false},
		{[]string{"bundle", "dockerfile", "../../bundle", "--context", "../../config"}, "", true},
	} {
		var out bytes.Buffer
		err := run(tc.args, nil, &out, io.Discard)
		if (err != nil) != tc.err {
			t.Errorf("%v: error %v, want error %v", tc.args, err, tc.err)
			continue
		}
		if !tc.err && !slices.Contains(strings.Split(out.String(), "\n"), tc.want) {
			t.Errorf("%v: no line %q in\n%s", tc.args, tc.want, out.String())
		}
	}
}

func TestMain(m *testing.M) {
	// operator-registry notes missing optional bundle files at info level.
	logrus.SetLevel(logrus.WarnLevel)
	os.Exit(m.Run())
}
