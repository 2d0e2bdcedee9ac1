package scorecard

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/operator-framework/api/pkg/apis/scorecard/v1alpha3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// PodSecurity is how test pods run.
type PodSecurity string

const (
	// PodSecurityRestricted runs test pods as the restricted Pod Security
	// Standard asks: non-root, RuntimeDefault seccomp, no capabilities, no
	// privilege escalation. Test images must run as a non-root user.
	PodSecurityRestricted PodSecurity = "restricted"
	// PodSecurityLegacy sets no security context: for test images that run
	// as root, in namespaces that admit them.
	PodSecurityLegacy PodSecurity = "legacy"
)

// ParsePodSecurity reads restricted or legacy.
func ParsePodSecurity(s string) (PodSecurity, error) {
	switch p := PodSecurity(s); p {
	case PodSecurityRestricted, PodSecurityLegacy:
		return p, nil
	}
	return "", fmt.Errorf("pod security %q: want %s or %s", s, PodSecurityRestricted, PodSecurityLegacy)
}

// Set makes PodSecurity a flag.Value.
func (p *PodSecurity) Set(s string) error {
	v, err := ParsePodSecurity(s)
	if err == nil {
		*p = v
	}
	return err
}

func (p *PodSecurity) String() string { return string(*p) }

// Test pod layout: the bundle's ConfigMap is mounted in the untar container,
// which unpacks it into an emptyDir the test container sees at /bundle.
const (
	// LabelRun is on a run's test pods and bundle ConfigMap: the run's id.
	LabelRun = "scorecard.example.com/run"

	untarContainer = "scorecard-untar"
	testContainer  = "scorecard-test"
	archiveVolume  = "scorecard-bundle-archive"
	bundleVolume   = "scorecard-bundle"
	archiveMount   = "/scorecard"
	bundleMount    = "/bundle"
	// untarUser is who the untar container runs as under restricted: it is
	// ours, so it need not trust its image's USER (busybox's is root).
	untarUser = 65532
)

// PodInput is what a test pod is built from besides its test.
type PodInput struct {
	Namespace string
	// Run is the run's id; its BundleConfigMap holds the bundle.
	Run            string
	UntarImage     string
	ServiceAccount string
	Security       PodSecurity
}

// TestPod is the pod that runs one configured test: the untar init
// container, then the test's image and entrypoint with SCORECARD_NAMESPACE
// and the bundle at /bundle. It never restarts: one run, one TestStatus.
func TestPod(tc v1alpha3.TestConfiguration, in PodInput) *corev1.Pod {
	podSC, containerSC := securityContexts(in.Security)
	untarSC := containerSC.DeepCopy()
	if untarSC != nil {
		untarSC.RunAsUser = ptr.To[int64](untarUser)
	}
	bundle := corev1.VolumeMount{Name: bundleVolume, MountPath: bundleMount}
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: podNamePrefix(TestName(tc)),
			Namespace:    in.Namespace,
			Labels:       map[string]string{LabelRun: in.Run},
		},
		Spec: corev1.PodSpec{
			ServiceAccountName:            in.ServiceAccount,
			RestartPolicy:                 corev1.RestartPolicyNever,
			TerminationGracePeriodSeconds: ptr.To(int64(podGracePeriod.Seconds())),
			SecurityContext:               podSC,
			InitContainers: []corev1.Container{{
				Name:            untarContainer,
				Image:           in.UntarImage,
				Command:         []string{"tar", "-xzf", archiveMount + "/" + bundleArchiveKey, "-C", bundleMount},
				VolumeMounts:    []corev1.VolumeMount{{Name: archiveVolume, MountPath: archiveMount, ReadOnly: true}, bundle},
				SecurityContext: untarSC,
			}},
			Containers: []corev1.Container{{
				Name:            testContainer,
				Image:           tc.Image,
				Command:         tc.Entrypoint,
				Env:             []corev1.EnvVar{{Name: "SCORECARD_NAMESPACE", Value: in.Namespace}},
				VolumeMounts:    []corev1.VolumeMount{{Name: bundleVolume, MountPath: bundleMount, ReadOnly: true}},
				SecurityContext: containerSC,
			}},
			Volumes: []corev1.Volume{
				{Name: archiveVolume, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
					LocalObjectReference: corev1.LocalObjectReference{Name: bundleConfigMapName(in.Run)},
				}}},
				{Name: bundleVolume, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			},
		},
	}
}

// securityContexts are the pod's and each container's for a PodSecurity.
func securityContexts(s PodSecurity) (*corev1.PodSecurityContext, *corev1.SecurityContext) {
	if s == PodSecurityLegacy {
		return nil, nil
	}
	return &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr.To(true),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		}, &corev1.SecurityContext{
			AllowPrivilegeEscalation: ptr.To(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		}
}

var notInName = regexp.MustCompile(`[^a-z0-9-]+`)

// podNamePrefix is scorecard-<test>-, a DNS label prefix the API server
// completes with a random suffix.
func podNamePrefix(test string) string {
	name := strings.Trim(notInName.ReplaceAllString(strings.ToLower(test), "-"), "-")
	if len(name) > 40 {
		name = strings.TrimRight(name[:40], "-")
	}
	return "scorecard-" + name + "-"
}
