package controller

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
)

const (
	containerName = "memcached"
	portName      = "memcached"
	// Port is memcached's TCP port.
	Port = 11211
	// memcachedUID is the non-root user the container runs as.
	memcachedUID = 1001
)

// Operand configures the memcached pods.
type Operand struct {
	// Image is the memcached image reference (tag or digest).
	Image string
}

// desiredDeployment is the Deployment a Memcached asks for. Every field the
// API server would default on the parts we own is set explicitly, so a
// Deployment read back from the server compares equal and an idle reconcile
// writes nothing.
func desiredDeployment(mc *cachev1.Memcached, op Operand) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{
			Name:      mc.Name,
			Namespace: mc.Namespace,
			Labels:    objectLabels(mc),
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(mc.Spec.Size),
			Selector: &metav1.LabelSelector{MatchLabels: selectorLabels(mc)},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: objectLabels(mc)},
				Spec:       podSpec(op),
			},
		},
	}
}

func podSpec(op Operand) corev1.PodSpec {
	return corev1.PodSpec{
		// memcached never talks to the API server.
		AutomountServiceAccountToken: ptr.To(false),
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr.To(true),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Containers: []corev1.Container{{
			Name:            containerName,
			Image:           op.Image,
			ImagePullPolicy: pullPolicy(op.Image),
			Command:         []string{"memcached", "--memory-limit=64", "--port=11211", "-o", "modern", "-v"},
			Ports: []corev1.ContainerPort{{
				Name:          portName,
				ContainerPort: Port,
				Protocol:      corev1.ProtocolTCP,
			}},
			ReadinessProbe: tcpProbe(),
			LivenessProbe:  tcpProbe(),
			Resources: corev1.ResourceRequirements{
				Requests: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("50m"),
					corev1.ResourceMemory: resource.MustParse("64Mi"),
				},
				Limits: corev1.ResourceList{
					corev1.ResourceCPU:    resource.MustParse("500m"),
					corev1.ResourceMemory: resource.MustParse("128Mi"),
				},
			},
			SecurityContext: &corev1.SecurityContext{
				RunAsNonRoot:             ptr.To(true),
				RunAsUser:                ptr.To[int64](memcachedUID),
				AllowPrivilegeEscalation: ptr.To(false),
				ReadOnlyRootFilesystem:   ptr.To(true),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			},
			TerminationMessagePath:   corev1.TerminationMessagePathDefault,
			TerminationMessagePolicy: corev1.TerminationMessageReadFile,
		}},
	}
}

func tcpProbe() *corev1.Probe {
	return &corev1.Probe{
		ProbeHandler: corev1.ProbeHandler{
			TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString(portName)},
		},
		PeriodSeconds:    10,
		TimeoutSeconds:   1,
		SuccessThreshold: 1,
		FailureThreshold: 3,
	}
}

// mergeDeployment writes the fields the operator owns from desired into
// current and leaves the rest (server defaults, other controllers' fields)
// alone. The selector is immutable and is set only at creation.
func mergeDeployment(current, desired *appsv1.Deployment) {
	current.Labels = mergeLabels(current.Labels, desired.Labels)
	current.Spec.Replicas = desired.Spec.Replicas
	tpl := &current.Spec.Template
	tpl.Labels = mergeLabels(tpl.Labels, desired.Spec.Template.Labels)
	want := desired.Spec.Template.Spec
	tpl.Spec.AutomountServiceAccountToken = want.AutomountServiceAccountToken
	tpl.Spec.SecurityContext = want.SecurityContext
	tpl.Spec.Containers = want.Containers
}

// inSync says whether a cached Deployment (see slimDeployment) already has
// what mergeDeployment would write from desired, so reconcile needs neither
// the whole object nor a write.
func inSync(cached, desired *appsv1.Deployment) bool {
	return hasLabels(cached.Labels, desired.Labels) &&
		ptr.Deref(cached.Spec.Replicas, 1) == ptr.Deref(desired.Spec.Replicas, 1) &&
		hasLabels(cached.Spec.Template.Labels, desired.Spec.Template.Labels) &&
		cached.Spec.Template.Annotations[ownedTemplateAnnotation] == ownedTemplateHash(&desired.Spec.Template.Spec)
}

// hasLabels says whether every key of want is set to its value in labels.
func hasLabels(labels, want map[string]string) bool {
	for k, v := range want {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// mergeLabels returns current with want's keys set; it never drops a label
// someone else added.
func mergeLabels(current, want map[string]string) map[string]string {
	if current == nil {
		current = make(map[string]string, len(want))
	}
	for k, v := range want {
		current[k] = v
	}
	return current
}
