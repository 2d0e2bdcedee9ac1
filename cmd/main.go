// Command memcached-operator runs the Memcached controller. It wires flags,
// the manager and the reconciler together and holds no logic of its own.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	crcontroller "sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/apimetrics"
	"github.com/example-inc/memcached-operator/internal/controller"
	"github.com/example-inc/memcached-operator/internal/managerenv"
	"github.com/example-inc/memcached-operator/internal/metricsauth"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "memcached-operator:", err)
		os.Exit(1)
	}
}

// options are the manager's flags and environment.
type options struct {
	metricsAddr    string
	secureMetrics  bool
	metricsCertDir string
	enableHTTP2    bool
	probeAddr      string
	pprofAddr      string
	leaderElect    bool
	leaderElectNS  string
	maxReconciles  int
	memcachedImage string
	zap            zap.Options
	// namespaces are what WATCH_NAMESPACE selects; empty for all.
	namespaces []string
}

func run() error {
	o := &options{}
	o.bindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&o.zap)))
	if err := o.complete(); err != nil {
		return err
	}

	// Every request the operator makes is counted by verb and resource.
	mgr, err := ctrl.NewManager(apimetrics.Instrument(ctrl.GetConfigOrDie()), managerOptions(o))
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}
	if err := setupReconciler(mgr, o); err != nil {
		return err
	}
	if err := addHealthChecks(mgr); err != nil {
		return err
	}

	ctrl.Log.WithName("setup").Info("starting manager", "namespaces", o.namespaces, "memcachedImage", o.memcachedImage, "maxConcurrentReconciles", o.maxReconciles)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		return fmt.Errorf("run manager: %w", err)
	}
	return nil
}

// defaultMaxReconciles is --max-concurrent-reconciles' default, chosen
// from B1 (docs/benchmarks.md).
const defaultMaxReconciles = 4

func (o *options) bindFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.metricsAddr, "metrics-bind-address", "0", "Address the metrics endpoint binds to, e.g. :8443 (https) or :8080 (http); 0 disables it.")
	fs.BoolVar(&o.secureMetrics, "metrics-secure", true, "Serve metrics over https, for authenticated and authorized clients only.")
	fs.StringVar(&o.metricsCertDir, "metrics-cert-dir", "",
		"Directory with the metrics endpoint's certificate and key as tls.crt and tls.key (a cert-manager Secret mounted), reloaded when they change; empty: a self-signed certificate.")
	fs.BoolVar(&o.enableHTTP2, "enable-http2", false, "Serve metrics over HTTP/2 as well (off: HTTP/2 Rapid Reset and Stream Cancellation CVEs).")
	fs.StringVar(&o.probeAddr, "health-probe-bind-address", ":8081", "Address the health and readiness probes bind to; 0 disables them.")
	fs.StringVar(&o.pprofAddr, "pprof-bind-address", "0", "Address Go's profiling endpoints (/debug/pprof) bind to, e.g. 127.0.0.1:8082; 0 disables them. Unauthenticated: bind to localhost.")
	fs.BoolVar(&o.leaderElect, "leader-elect", false, "Elect a leader so that only one replica reconciles at a time.")
	fs.StringVar(&o.leaderElectNS, "leader-election-namespace", "", "Namespace of the leader election lease (default: the pod's namespace).")
	fs.IntVar(&o.maxReconciles, "max-concurrent-reconciles", defaultMaxReconciles,
		"Memcacheds reconciled in parallel. 4 by default: with 1,000 Memcacheds created at once (benchmark B1), one worker ends 5 s after the last Deployment is ready and four within 0.5 s, with the same writes (at most one Deployment create and two status writes per Memcached).")
	fs.StringVar(&o.memcachedImage, "memcached-image", envOr(managerenv.RelatedImage, controller.DefaultMemcachedImage),
		"Memcached image the pods run, by tag or digest (env RELATED_IMAGE_MEMCACHED).")
	o.zap = zap.Options{Development: false}
	o.zap.BindFlags(fs)
}

// complete checks the flags and reads the watched namespaces from
// managerenv.WatchNamespace, which OLM sets from the OperatorGroup.
func (o *options) complete() error {
	if o.maxReconciles < 1 {
		return fmt.Errorf("--max-concurrent-reconciles=%d: must be at least 1", o.maxReconciles)
	}
	if err := controller.ValidateImage(o.memcachedImage); err != nil {
		return fmt.Errorf("--memcached-image: %w", err)
	}
	if err := checkMetricsCertDir(o); err != nil {
		return err
	}
	namespaces, err := controller.ParseWatchNamespace(os.Getenv(managerenv.WatchNamespace))
	if err != nil {
		return err
	}
	o.namespaces = namespaces
	return nil
}

// Names of the certificate and key in --metrics-cert-dir: a
// kubernetes.io/tls Secret's keys, as cert-manager writes them.
const (
	metricsCertName = "tls.crt"
	metricsKeyName  = "tls.key"
)

// checkMetricsCertDir refuses a --metrics-cert-dir without the certificate
// or key, which controller-runtime would silently replace with a
// self-signed certificate, and one given for plain http.
func checkMetricsCertDir(o *options) error {
	if o.metricsCertDir == "" {
		return nil
	}
	if !o.secureMetrics {
		return fmt.Errorf("--metrics-cert-dir=%s: metrics are served over http (--metrics-secure=false); drop one of the two", o.metricsCertDir)
	}
	for _, name := range []string{metricsCertName, metricsKeyName} {
		if _, err := os.Stat(filepath.Join(o.metricsCertDir, name)); err != nil {
			return fmt.Errorf("--metrics-cert-dir: %w (mount a kubernetes.io/tls Secret there)", err)
		}
	}
	return nil
}

// managerOptions are the manager's scheme, cache scope, metrics server,
// probes and leader election.
func managerOptions(o *options) ctrl.Options {
	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(cachev1.AddToScheme(scheme))
	return ctrl.Options{
		Scheme:                  scheme,
		Cache:                   controller.CacheOptions(o.namespaces),
		Metrics:                 metricsOptions(o),
		HealthProbeBindAddress:  o.probeAddr,
		PprofBindAddress:        o.pprofAddr,
		LeaderElection:          o.leaderElect,
		LeaderElectionID:        controller.LeaderElectionID,
		LeaderElectionNamespace: o.leaderElectNS,
		LeaseDuration:           ptr.To(controller.LeaseDuration),
		RenewDeadline:           ptr.To(controller.RenewDeadline),
		RetryPeriod:             ptr.To(controller.RetryPeriod),
		// The process exits right after the manager stops, so the lease can
		// be handed over at once.
		LeaderElectionReleaseOnCancel: true,
	}
}

// metricsOptions are the metrics server's address, TLS and authentication.
// Without --metrics-cert-dir the certificate is left to controller-runtime,
// as before the flag: it looks in its default directory, which nothing
// mounts, and serves a self-signed certificate.
func metricsOptions(o *options) metricsserver.Options {
	var tlsOpts []func(*tls.Config)
	if !o.enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	opts := metricsserver.Options{
		BindAddress:   o.metricsAddr,
		SecureServing: o.secureMetrics,
		TLSOpts:       tlsOpts,
	}
	if o.metricsCertDir != "" {
		opts.CertDir, opts.CertName, opts.KeyName = o.metricsCertDir, metricsCertName, metricsKeyName
	}
	if o.secureMetrics {
		opts.FilterProvider = metricsauth.FilterProvider
	}
	return opts
}

func setupReconciler(mgr ctrl.Manager, o *options) error {
	r := &controller.MemcachedReconciler{
		Client:   mgr.GetClient(),
		Scheme:   mgr.GetScheme(),
		Recorder: mgr.GetEventRecorder("memcached-operator"),
		Operand:  controller.Operand{Image: o.memcachedImage},
	}
	if err := r.SetupWithManager(mgr, crcontroller.Options{MaxConcurrentReconciles: o.maxReconciles}); err != nil {
		return fmt.Errorf("set up controller: %w", err)
	}
	return nil
}

func addHealthChecks(mgr ctrl.Manager) error {
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("add health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("add readiness check: %w", err)
	}
	return nil
}

// envOr is the environment variable key, or def when it is unset or empty.
func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}
