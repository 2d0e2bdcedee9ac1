package olm

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"github.com/operator-framework/operator-registry/alpha/declcfg"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/catalog"
	"github.com/example-inc/memcached-operator/internal/podstatus"
	"github.com/example-inc/memcached-operator/internal/wait"
)

const (
	// registryPort is where the registry pod's opm serves (OLM's default).
	registryPort = 50051
	// generationLabel tells one served catalog (a registry pod and its
	// ConfigMaps) from the next: a hash of the catalog's content.
	generationLabel = "sdk.example.com/run-bundle-catalog"
	// partitionSize bounds the gzipped catalog one ConfigMap carries
	// (the API server refuses ConfigMaps over 1 MiB).
	partitionSize = 1000 * 1024
	// partitionKey is the key of the catalog's piece in each ConfigMap.
	partitionKey = "catalog.json.gz"
	// configsDir is where the registry pod's catalog is unpacked and served from.
	configsDir = "/configs"
)

// registryPod serves the catalog as operator-sdk's run bundle does on a
// cluster: the catalog gzipped in ConfigMaps, a pod whose init container
// unpacks them and whose container runs `opm serve` from the index image,
// the CatalogSource pointed at the pod's IP. Each catalog is a generation
// (pod and ConfigMaps named and labelled by a hash of its content), so a
// bundle-upgrade starts the next one beside the serving one and retires the
// old one only when the CatalogSource points at the new.
type registryPod struct {
	c   *Client
	o   RunOptions
	pkg string
	// gen is the generation serve started.
	gen string
}

func (r *registryPod) name(gen string) string { return r.pkg + "-catalog-" + gen }

func (r *registryPod) labels(gen string) map[string]string {
	return map[string]string{managedLabel: r.pkg, generationLabel: gen}
}

// served reads the catalog from the ConfigMaps of the pod the CatalogSource
// points at.
func (r *registryPod) served(ctx context.Context) (*declcfg.DeclarativeConfig, error) {
	cs := r.pkg + "-catalog"
	gen, err := r.servingGeneration(ctx, cs)
	if err != nil {
		return nil, err
	}
	cms := &corev1.ConfigMapList{}
	if err := r.c.List(ctx, cms, client.InNamespace(r.o.Namespace), client.MatchingLabels(r.labels(gen))); err != nil {
		return nil, fmt.Errorf("list the ConfigMaps of %s/%s: %w", r.o.Namespace, r.name(gen), err)
	}
	gz, err := joinPartitions(r.name(gen), cms.Items)
	if err != nil {
		return nil, fmt.Errorf("the catalog CatalogSource %s/%s serves (ConfigMaps of %s): %w", r.o.Namespace, cs, r.name(gen), err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("the catalog CatalogSource %s/%s serves: %w", r.o.Namespace, cs, err)
	}
	return declcfg.LoadReader(zr)
}

// servingGeneration is the generation of the registry pod whose IP the
// CatalogSource's address names.
func (r *registryPod) servingGeneration(ctx context.Context, cs string) (string, error) {
	src, err := r.c.catalogSource(ctx, r.o.Namespace, cs)
	if err != nil {
		return "", err
	}
	host, _, err := net.SplitHostPort(src.Spec.Address)
	if err != nil {
		return "", fmt.Errorf("CatalogSource %s/%s: address %q: %w", r.o.Namespace, cs, src.Spec.Address, err)
	}
	pods := &corev1.PodList{}
	if err := r.c.List(ctx, pods, client.InNamespace(r.o.Namespace), client.MatchingLabels{managedLabel: r.pkg}); err != nil {
		return "", fmt.Errorf("list registry pods in %s: %w", r.o.Namespace, err)
	}
	for _, p := range pods.Items {
		if p.Status.PodIP == host {
			return p.Labels[generationLabel], nil
		}
	}
	return "", fmt.Errorf("CatalogSource %s/%s points at %s, which is no registry pod of run bundle: run cleanup %s --namespace %s, then run bundle again",
		r.o.Namespace, cs, src.Spec.Address, r.pkg, r.o.Namespace)
}

// serve writes the catalog's ConfigMaps, starts its registry pod and waits
// until the pod is ready; a pod that cannot start is removed again.
func (r *registryPod) serve(ctx context.Context, fbc *declcfg.DeclarativeConfig) (string, error) {
	if err := catalog.Validate(ctx, fbc); err != nil {
		return "", err
	}
	var raw bytes.Buffer
	zw := gzip.NewWriter(&raw)
	if err := declcfg.WriteJSON(*fbc, zw); err != nil {
		return "", err
	}
	if err := zw.Close(); err != nil {
		return "", err
	}
	sum := sha256.Sum256(raw.Bytes())
	r.gen = hex.EncodeToString(sum[:])[:10]
	cms := r.configMaps(splitPartitions(raw.Bytes()))
	for i := range cms {
		if err := r.c.Create(ctx, &cms[i]); err != nil && !apierrors.IsAlreadyExists(err) {
			_ = r.abandon(ctx)
			return "", fmt.Errorf("create ConfigMap %s/%s: %w", r.o.Namespace, cms[i].Name, err)
		}
	}
	pod := registryPodSpec(r.podOptions(len(cms)))
	if err := r.c.Create(ctx, pod); err != nil && !apierrors.IsAlreadyExists(err) {
		_ = r.abandon(ctx)
		return "", fmt.Errorf("create registry pod %s/%s: %w", r.o.Namespace, pod.Name, err)
	}
	say(r.o.Out, "started registry pod %s/%s (%s, catalog in %d ConfigMap(s))", r.o.Namespace, pod.Name, r.o.IndexImage, len(cms))
	ip, err := r.waitReady(ctx, pod.Name)
	if err != nil {
		_ = r.abandon(context.WithoutCancel(ctx))
		return "", err
	}
	return net.JoinHostPort(ip, strconv.Itoa(registryPort)), nil
}

func (r *registryPod) podOptions(partitions int) registryPodOptions {
	return registryPodOptions{
		Name: r.name(r.gen), Namespace: r.o.Namespace, Labels: r.labels(r.gen), Package: r.pkg,
		IndexImage: r.o.IndexImage, DecompressionImage: r.o.DecompressionImage, Partitions: partitions,
	}
}

// configMaps carries the gzipped catalog's parts, in order.
func (r *registryPod) configMaps(parts [][]byte) []corev1.ConfigMap {
	out := make([]corev1.ConfigMap, len(parts))
	for i, p := range parts {
		out[i] = corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: partitionName(r.name(r.gen), i), Namespace: r.o.Namespace, Labels: r.labels(r.gen)},
			BinaryData: map[string][]byte{partitionKey: p},
		}
	}
	return out
}

func partitionName(pod string, i int) string { return fmt.Sprintf("%s-partition-%d", pod, i) }

// waitReady waits for the registry pod to serve (its gRPC readiness probe
// passes) and returns its IP. An image that cannot be pulled or a
// container that cannot start ends the wait at once, named.
func (r *registryPod) waitReady(ctx context.Context, name string) (string, error) {
	key := types.NamespacedName{Namespace: r.o.Namespace, Name: name}
	pod := &corev1.Pod{}
	o := r.c.waitOptions(fmt.Sprintf("registry pod %s to serve the catalog", key), func(ctx context.Context) string {
		if err := r.c.Get(ctx, key, pod); err != nil {
			return err.Error()
		}
		return podstatus.Describe(pod)
	})
	err := wait.For(ctx, o, func(ctx context.Context) (bool, string, error) {
		if err := r.c.Get(ctx, key, pod); err != nil {
			return false, "", fmt.Errorf("registry pod %s: %w", key, err)
		}
		if why, stuck := registryPodStuck(pod); stuck {
			return false, "", wait.Failed("registry pod %s cannot start: %s", key, why)
		}
		return podstatus.Ready(pod) && pod.Status.PodIP != "", podstatus.Describe(pod), nil
	})
	return pod.Status.PodIP, err
}

// registryPodStuck: the pod's image cannot be pulled, a container cannot be
// started or keeps crashing, or the catalog could not be unpacked: nothing
// gets better by waiting.
func registryPodStuck(p *corev1.Pod) (string, bool) {
	if why, stuck := podstatus.Stuck(p); stuck {
		return why, true
	}
	if p.Status.Phase == corev1.PodFailed {
		return podstatus.Describe(p), true
	}
	for _, cs := range slices.Concat(p.Status.InitContainerStatuses, p.Status.ContainerStatuses) {
		if w := cs.State.Waiting; w != nil && slices.Contains([]string{"CrashLoopBackOff", "RunContainerError", "CreateContainerError"}, w.Reason) {
			return podstatus.Describe(p), true
		}
	}
	return "", false
}

// retire deletes every other generation of the package's registry pods and
// ConfigMaps.
func (r *registryPod) retire(ctx context.Context) error {
	return r.deleteGenerations(ctx, func(gen string) bool { return gen != r.gen })
}

// abandon deletes the generation serve started.
func (r *registryPod) abandon(ctx context.Context) error {
	return r.deleteGenerations(ctx, func(gen string) bool { return gen == r.gen })
}

func (r *registryPod) deleteGenerations(ctx context.Context, match func(gen string) bool) error {
	for _, list := range []client.ObjectList{&corev1.PodList{}, &corev1.ConfigMapList{}} {
		if err := r.c.List(ctx, list, client.InNamespace(r.o.Namespace), client.MatchingLabels{managedLabel: r.pkg}); err != nil {
			return fmt.Errorf("list %T in %s: %w", list, r.o.Namespace, err)
		}
		for _, obj := range ListItems(list) {
			if !match(obj.GetLabels()[generationLabel]) {
				continue
			}
			if err := r.c.Delete(ctx, obj); client.IgnoreNotFound(err) != nil {
				return fmt.Errorf("delete %s %s: %w", kindOf(obj), client.ObjectKeyFromObject(obj), err)
			}
			say(r.o.Out, "deleted %s %s/%s", kindOf(obj), obj.GetNamespace(), obj.GetName())
		}
	}
	return nil
}

// ListItems are the objects of a list.
func ListItems(list client.ObjectList) []client.Object {
	var out []client.Object
	_ = meta.EachListItem(list, func(o runtime.Object) error {
		out = append(out, o.(client.Object))
		return nil
	})
	return out
}

// splitPartitions cuts data into ConfigMap-sized parts.
func splitPartitions(data []byte) [][]byte {
	var parts [][]byte
	for len(data) > partitionSize {
		parts = append(parts, data[:partitionSize])
		data = data[partitionSize:]
	}
	return append(parts, data)
}

// joinPartitions puts the parts in the ConfigMaps <pod>-partition-<i> back
// together in order, refusing a set with a part missing.
func joinPartitions(pod string, cms []corev1.ConfigMap) ([]byte, error) {
	byIndex := map[int][]byte{}
	for _, cm := range cms {
		n, ok := strings.CutPrefix(cm.Name, pod+"-partition-")
		i, err := strconv.Atoi(n)
		if !ok || err != nil {
			return nil, fmt.Errorf("ConfigMap %s: not named %s-partition-<n>", cm.Name, pod)
		}
		byIndex[i] = cm.BinaryData[partitionKey]
	}
	if len(byIndex) == 0 {
		return nil, fmt.Errorf("no ConfigMap %s-partition-0", pod)
	}
	var out []byte
	for i := range len(byIndex) {
		p, ok := byIndex[i]
		if !ok {
			return nil, fmt.Errorf("ConfigMap %s is missing", partitionName(pod, i))
		}
		out = append(out, p...)
	}
	return out, nil
}

// registryPodOptions say what registryPodSpec builds.
type registryPodOptions struct {
	Name, Namespace string
	Labels          map[string]string
	Package         string
	// IndexImage runs opm serve; DecompressionImage (default IndexImage)
	// unpacks the catalog with sh, cat and gzip.
	IndexImage, DecompressionImage string
	// Partitions is the number of ConfigMaps, <Name>-partition-<i>.
	Partitions int
}

// registryPodSpec is the registry pod: restricted (it runs in namespaces
// that enforce it), the ConfigMaps mounted in order under /partitions, the
// catalog unpacked to /configs/<package>, served by opm and probed over gRPC.
func registryPodSpec(o registryPodOptions) *corev1.Pod {
	restricted := &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr.To(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
	configs := corev1.VolumeMount{Name: "configs", MountPath: configsDir}
	tmp := corev1.VolumeMount{Name: "tmp", MountPath: "/tmp"}
	volumes := []corev1.Volume{
		{Name: "configs", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
	}
	unpackMounts := []corev1.VolumeMount{configs}
	for i := range o.Partitions {
		v := fmt.Sprintf("partition-%d", i)
		volumes = append(volumes, corev1.Volume{Name: v, VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: partitionName(o.Name, i)}},
		}})
		unpackMounts = append(unpackMounts, corev1.VolumeMount{Name: v, MountPath: fmt.Sprintf("/partitions/%04d", i), ReadOnly: true})
	}
	dir := configsDir + "/" + o.Package
	unpack := fmt.Sprintf("set -e; mkdir -p '%s'; cat /partitions/*/%s | gzip -d > '%s/catalog.json'", dir, partitionKey, dir)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: o.Name, Namespace: o.Namespace, Labels: o.Labels},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr.To(true),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			InitContainers: []corev1.Container{{
				Name: "unpack-catalog", Image: cmp.Or(o.DecompressionImage, o.IndexImage),
				Command: []string{"sh", "-c", unpack}, VolumeMounts: unpackMounts, SecurityContext: restricted,
			}},
			Containers: []corev1.Container{{
				Name: "registry-server", Image: o.IndexImage,
				Command:         []string{"opm", "serve", configsDir, "-p", strconv.Itoa(registryPort)},
				Ports:           []corev1.ContainerPort{{Name: "grpc", ContainerPort: registryPort}},
				ReadinessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: registryPort}}, PeriodSeconds: 2},
				VolumeMounts:    []corev1.VolumeMount{{Name: "configs", MountPath: configsDir, ReadOnly: true}, tmp},
				SecurityContext: restricted,
			}},
			Volumes: volumes,
		},
	}
}
