// Command memcached-operator runs the Memcached controller. It wires flags,
// the manager and the reconciler together and holds no logic of its own.
package main

import (
	"crypto/tls"
	"flag"
	"fmt"
	"os"

	"k8s.io/apimachinery/pkg/runtime"
	utilruntime "k8s.io/apimachinery/pkg/util/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	"sigs.k8s.io/controller-runtime/pkg/metrics/filters"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/controllers"
	"github.com/example-inc/memcached-operator/internal/apimetrics"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "memcached-operator:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		metricsAddr    string
		secureMetrics  bool
		enableHTTP2    bool
		probeAddr      string
		leaderElect    bool
		maxReconciles  int
		memcachedImage string
		leaderElectNS  string
	)
	flag.StringVar(&metricsAddr, "metrics-bind-address", "0", "Address the metrics endpoint binds to, e.g. :8443 (https) or :8080 (http); 0 disables it.")
	flag.BoolVar(&secureMetrics, "metrics-secure", true, "Serve metrics over https, for authenticated and authorized clients only.")
	flag.BoolVar(&enableHTTP2, "enable-http2", false, "Serve metrics over HTTP/2 as well (off: HTTP/2 Rapid Reset and Stream Cancellation CVEs).")
	flag.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "Address the health and readiness probes bind to; 0 disables them.")
	flag.BoolVar(&leaderElect, "leader-elect", false, "Elect a leader so that only one replica reconciles at a time.")
	flag.StringVar(&leaderElectNS, "leader-election-namespace", "", "Namespace of the leader election lease (default: the pod's namespace).")
	flag.IntVar(&maxReconciles, "max-concurrent-reconciles", 1, "Memcacheds reconciled in parallel.")
	flag.StringVar(&memcachedImage, "memcached-image", envOr("RELATED_IMAGE_MEMCACHED", controllers.DefaultMemcachedImage),
		"Memcached image the pods run, by tag or digest (env RELATED_IMAGE_MEMCACHED).")
	zapOpts := zap.Options{Development: false}
	zapOpts.BindFlags(flag.CommandLine)
	flag.Parse()
	ctrl.SetLogger(zap.New(zap.UseFlagOptions(&zapOpts)))
	setupLog := ctrl.Log.WithName("setup")

	if maxReconciles < 1 {
		return fmt.Errorf("--max-concurrent-reconciles=%d: must be at least 1", maxReconciles)
	}
	if err := controllers.ValidateImage(memcachedImage); err != nil {
		return fmt.Errorf("--memcached-image: %w", err)
	}
	namespaces, err := controllers.ParseWatchNamespace(os.Getenv("WATCH_NAMESPACE"))
	if err != nil {
		return err
	}

	scheme := runtime.NewScheme()
	utilruntime.Must(clientgoscheme.AddToScheme(scheme))
	utilruntime.Must(cachev1.AddToScheme(scheme))

	var tlsOpts []func(*tls.Config)
	if !enableHTTP2 {
		tlsOpts = append(tlsOpts, func(c *tls.Config) { c.NextProtos = []string{"http/1.1"} })
	}
	metricsOpts := metricsserver.Options{
		BindAddress:   metricsAddr,
		SecureServing: secureMetrics,
		TLSOpts:       tlsOpts,
	}
	if secureMetrics {
		metricsOpts.FilterProvider = filters.WithAuthenticationAndAuthorization
	}

	// Every request the operator makes is counted by verb and resource.
	mgr, err := ctrl.NewManager(apimetrics.Instrument(ctrl.GetConfigOrDie()), ctrl.Options{
		Scheme:                  scheme,
		Cache:                   controllers.CacheOptions(namespaces),
		Metrics:                 metricsOpts,
		HealthProbeBindAddress:  probeAddr,
		LeaderElection:          leaderElect,
		LeaderElectionID:        "memcached-operator.cache.example.com",
		LeaderElectionNamespace: leaderElectNS,
		// The process exits right after the manager stops, so the lease can
		// be handed over at once.
		LeaderElectionReleaseOnCancel: true,
	})
	if err != nil {
		return fmt.Errorf("create manager: %w", err)
	}

	r := &controllers.MemcachedReconciler{
		Client:   mgr.GetClient(),
		Scheme:   mgr.GetScheme(),
		Recorder: mgr.GetEventRecorder("memcached-operator"),
		Operand:  controllers.Operand{Image: memcachedImage},
	}
	if err := r.SetupWithManager(mgr, controller.Options{MaxConcurrentReconciles: maxReconciles}); err != nil {
		return fmt.Errorf("set up controller: %w", err)
	}
	if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
		return fmt.Errorf("add health check: %w", err)
	}
	if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
		return fmt.Errorf("add readiness check: %w", err)
	}

	setupLog.Info("starting manager", "namespaces", namespaces, "memcachedImage", memcachedImage, "maxConcurrentReconciles", maxReconciles)
	if err := mgr.Start(ctrl.SetupSignalHandler()); err != nil {
		return fmt.Errorf("run manager: %w", err)
	}
	return nil
}

func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}
