// Command sdk does for this operator what operator-sdk's packaging commands
// do, on operator-framework's libraries:
//
//	sdk generate bundle   kustomize output -> bundle/ + bundle.Dockerfile, validated
//	sdk bundle validate   validate a bundle directory
//	sdk bundle dockerfile the Dockerfile of a bundle directory as it is (a released bundle)
//	sdk catalog render    template + released bundles -> catalog/, validated and analysed
//	sdk catalog analyze   upgrade-graph analysis of an FBC directory
//	sdk catalog release   add the working bundle to the release history
//	sdk catalog show      what OperatorHub lists for each package of an FBC directory
//	sdk catalog diff      what a catalog change means for users; fails on regressions
//	sdk run bundle        install a bundle directory through OLM
//	sdk run bundle-upgrade  upgrade what run bundle installed to another bundle
//	sdk cleanup           remove what run bundle installed
//	sdk run manager       run the manager as a local process (the simulated lane's operator)
//	sdk wait memcached    wait until a Memcached is ready (internal/readiness)
//	sdk scorecard         run the scorecard tests of a bundle
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/sirupsen/logrus"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/example-inc/memcached-operator/internal/atomicdir"
	"github.com/example-inc/memcached-operator/internal/bundle"
)

const usage = `usage:
  sdk generate bundle [flags]    write bundle/ and bundle.Dockerfile from rendered manifests
  sdk bundle validate DIR [flags]
  sdk bundle dockerfile DIR [--context CTX]   print the image Dockerfile of bundle DIR (built from CTX)
  sdk catalog render [flags]     render, validate and analyse the catalog into catalog/
  sdk catalog analyze DIR [--package NAME] [-o text|json] [--strict]
  sdk catalog release [flags]    add bundle/ to the released history and the template
  sdk catalog show DIR [--package NAME] [-o text|json]
  sdk catalog diff OLD NEW [-o text|json]   exit 1 on a user-visible regression
  sdk run bundle DIR [flags]     install a bundle through OLM (KUBECONFIG)
  sdk run bundle-upgrade DIR [flags]
  sdk cleanup PACKAGE [flags]
  sdk run manager [--manager BIN] [--watch-namespace NS] [--log FILE]   until interrupted
  sdk wait memcached NAME [--namespace NS] [--timeout 2m]
  sdk recover [PATH...]          finish or discard changes a killed make bundle/catalog/catalog-release left
  sdk scorecard BUNDLE [-l selector] [-o text|json|xunit] [flags]
Run a command with -h for its flags.`

func main() {
	// operator-registry logs routine notes (no dependencies.yaml, ...) at info.
	logrus.SetLevel(logrus.WarnLevel)
	// controller-runtime's client warns, with a stack, when no logger is set.
	ctrllog.SetLogger(logr.Discard())
	if err := run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr); err != nil {
		code, prefix := 1, "error:"
		var ee *exitError
		if errors.As(err, &ee) {
			code, prefix = ee.code, ee.prefix
		}
		if !errors.Is(err, errReported) {
			fmt.Fprintln(os.Stderr, prefix, err)
		}
		os.Exit(code)
	}
}

// errReported means the problems were already printed, one per line.
var errReported = errors.New("reported")

// exitError ends sdk with an exit status of its own (catalog analyze: 2 for
// warnings without errors).
type exitError struct {
	code   int
	prefix string // what main prints before the message
	err    error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "cleanup":
			return cleanup(args[1:], stdout, stderr)
		case "scorecard":
			return runScorecard(args[1:], stdout, stderr)
		case "recover":
			return recoverPaths(args[1:], stdout)
		}
	}
	if len(args) < 2 {
		return errors.New(usage)
	}
	switch args[0] + " " + args[1] {
	case "generate bundle":
		return generateBundle(args[2:], stdin, stdout, stderr)
	case "bundle validate":
		return validateBundle(args[2:], stdout, stderr)
	case "bundle dockerfile":
		return bundleDockerfile(args[2:], stdout, stderr)
	case "catalog render":
		return catalogRender(args[2:], stdout, stderr)
	case "catalog analyze":
		return catalogAnalyze(args[2:], stdout, stderr)
	case "catalog release":
		return catalogRelease(args[2:], stdout, stderr)
	case "catalog show":
		return catalogShow(args[2:], stdout, stderr)
	case "catalog diff":
		return catalogDiff(args[2:], stdout, stderr)
	case "run bundle":
		return runBundle(args[2:], false, stdout, stderr)
	case "run bundle-upgrade":
		return runBundle(args[2:], true, stdout, stderr)
	case "run manager":
		return runManager(args[2:], stdout, stderr)
	case "wait memcached":
		return waitMemcached(args[2:], stdout, stderr)
	}
	return fmt.Errorf("unknown command %q\n%s", strings.Join(args[:2], " "), usage)
}

// recoverPaths finishes the changes of the generated paths that a killed
// process committed and discards those it had not (atomicdir.Txn); the
// next make bundle, catalog or catalog-release does the same by itself.
func recoverPaths(paths []string, stdout io.Writer) error {
	if len(paths) == 0 {
		paths = []string{"bundle", "bundle.Dockerfile", "catalog", "config/catalog/template.yaml"}
	}
	for _, p := range paths {
		if err := atomicdir.Recover(p); err != nil {
			return err
		}
	}
	fmt.Fprintf(stdout, "%s: no interrupted change left\n", strings.Join(paths, ", "))
	return nil
}

// bundleFlags are generate bundle's flags: the options of bundle.Generate
// and the files its inputs come from.
type bundleFlags struct {
	opts      bundle.GenerateOptions
	channels  string
	manifests string
	scorecard string
}

func (b *bundleFlags) register(fs *flag.FlagSet) {
	rel := &b.opts.Release
	fs.StringVar(&rel.Package, "package", "", "OLM package name.")
	fs.StringVar(&rel.Version, "version", "", "Bundle version (VERSION), e.g. 0.3.0.")
	fs.StringVar(&b.channels, "channels", "", "Comma-separated channels (CHANNELS).")
	fs.StringVar(&rel.DefaultChannel, "default-channel", "", "Default channel (DEFAULT_CHANNEL).")
	fs.StringVar(&rel.Replaces, "replaces", "", "Version this release replaces (REPLACES), e.g. 0.2.0.")
	fs.StringVar(&rel.SkipRange, "skip-range", "", "olm.skipRange (SKIP_RANGE), e.g. '>=0.1.0 <0.3.0'.")
	fs.StringVar(&rel.OperatorImage, "operator-image", "", "Operator image (IMG).")
	fs.StringVar(&rel.ScorecardImage, "scorecard-image", "", "Scorecard test image (SCORECARD_IMG).")
	fs.StringVar(&rel.ProjectLayout, "project-layout", "go.kubebuilder.io/v4", "kubebuilder project layout.")
	fs.StringVar(&b.manifests, "manifests", "-", "Rendered manifests (kustomize build config/manifests); - for stdin.")
	fs.StringVar(&b.scorecard, "scorecard-config", "", "Scorecard configuration for tests/scorecard/config.yaml (kustomize build config/scorecard).")
	fs.StringVar(&b.opts.Dir, "output-dir", "bundle", "Bundle directory to replace.")
	fs.StringVar(&b.opts.Dockerfile, "dockerfile", "bundle.Dockerfile", "Bundle Dockerfile to write; empty for none.")
	fs.StringVar(&b.opts.Validation.K8sVersion, "k8s-version", "", k8sVersionUsage)
}

// k8sVersionUsage documents --k8s-version, which the Makefile sets to K8S_TARGET_VERSION.
const k8sVersionUsage = "Kubernetes version whose removed APIs the bundle must not use (e.g. " + bundle.K8sTargetVersion + ")."

// readInputs opens the manifests (stdin for -) and reads the scorecard
// configuration; done closes what it opened.
func (b *bundleFlags) readInputs(stdin io.Reader) (done func(), err error) {
	if b.channels != "" {
		b.opts.Release.Channels = strings.Split(b.channels, ",")
	}
	if b.scorecard != "" {
		if b.opts.ScorecardConfig, err = os.ReadFile(b.scorecard); err != nil {
			return nil, err
		}
	}
	b.opts.Manifests = stdin
	if b.manifests == "-" {
		return func() {}, nil
	}
	f, err := os.Open(b.manifests)
	if err != nil {
		return nil, err
	}
	b.opts.Manifests = f
	return func() { _ = f.Close() }, nil
}

func generateBundle(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("generate bundle", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var bf bundleFlags
	bf.register(fs)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("generate bundle takes no arguments, got %q", fs.Args())
	}
	done, err := bf.readInputs(stdin)
	if err != nil {
		return err
	}
	defer done()
	bf.opts.Now = time.Now()
	problems, err := bundle.Generate(bf.opts)
	report(stderr, problems)
	if errors.Is(err, bundle.ErrInvalid) {
		fmt.Fprintf(stderr, "error: %s was left as it was: fix the errors above in config/ and run make bundle again\n", bf.opts.Dir)
		return errReported
	}
	if err != nil {
		return err
	}
	rel := bf.opts.Release
	fmt.Fprintf(stdout, "bundle %s v%s written to %s (%d warnings)\n", rel.Package, strings.TrimPrefix(rel.Version, "v"), bf.opts.Dir, len(problems))
	return nil
}

func validateBundle(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bundle validate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	k8sVersion := fs.String("k8s-version", "", k8sVersionUsage)
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("bundle validate takes one bundle directory")
	}
	// A bundle a killed `generate bundle` committed is finished first.
	if err := atomicdir.Recover(fs.Arg(0)); err != nil {
		return err
	}
	problems, err := bundle.Validate(fs.Arg(0), bundle.Options{K8sVersion: *k8sVersion})
	if err != nil {
		return err
	}
	report(stderr, problems)
	for _, p := range problems {
		if p.Error {
			return errReported
		}
	}
	fmt.Fprintf(stdout, "bundle %s is valid (%d warnings)\n", fs.Arg(0), len(problems))
	return nil
}

// bundleDockerfile prints the Dockerfile of a bundle directory as it is on
// disk, labelled with its annotations (a released bundle, whose Dockerfile
// make bundle did not write).
func bundleDockerfile(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("bundle dockerfile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	context := fs.String("context", ".", "The build context the Dockerfile's COPY paths are relative to.")
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("bundle dockerfile takes one bundle directory")
	}
	dir, err := filepath.Rel(*context, fs.Arg(0))
	if err != nil || dir == ".." || strings.HasPrefix(dir, "../") {
		return fmt.Errorf("bundle dockerfile: %s is not inside the build context %s", fs.Arg(0), *context)
	}
	df, err := bundle.DockerfileOf(fs.Arg(0), filepath.ToSlash(dir))
	if err != nil {
		return err
	}
	_, err = io.WriteString(stdout, df)
	return err
}

func report(w io.Writer, problems []bundle.Problem) {
	for _, p := range problems {
		fmt.Fprintln(w, p)
	}
}

// reorder puts flags before positional arguments, so both
// "validate DIR --k8s-version 1.37" and "validate --k8s-version 1.37 DIR"
// work. A flag takes the next word as its value unless it is boolean or
// written --flag=value; "--" ends the flags and "-" is an argument (stdin).
func reorder(fs *flag.FlagSet, args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--":
			return append(append(flags, a), append(pos, args[i+1:]...)...)
		case a == "-" || !strings.HasPrefix(a, "-"):
			pos = append(pos, a)
		case !takesValue(fs, a):
			flags = append(flags, a)
		case i+1 == len(args):
			// Parse then says "flag needs an argument" instead of taking a
			// positional argument as the value.
			return append(flags, a)
		default:
			flags = append(flags, a, args[i+1])
			i++
		}
	}
	return append(flags, pos...)
}

// takesValue says whether the flag word arg needs the next word as its
// value. Unknown flags do, as far as reorder cares: Parse rejects them.
func takesValue(fs *flag.FlagSet, arg string) bool {
	name := strings.TrimLeft(arg, "-")
	if strings.Contains(name, "=") {
		return false
	}
	if f := fs.Lookup(name); f != nil {
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			return false
		}
	}
	return true
}
