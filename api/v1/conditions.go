package v1

// Condition types of a Memcached. They follow the Deployment's vocabulary so
// that `kubectl wait --for=condition=Available` reads the same on both.
const (
	// ConditionAvailable is True when spec.size pods are ready.
	ConditionAvailable = "Available"
	// ConditionProgressing is True while the Deployment is rolling out or scaling.
	ConditionProgressing = "Progressing"
	// ConditionDegraded is True when the operator or the Deployment cannot make progress.
	ConditionDegraded = "Degraded"
)

// Reasons of the conditions above, one place for all of them.
const (
	// ReasonAllReplicasReady: every wanted pod is ready.
	ReasonAllReplicasReady = "AllReplicasReady"
	// ReasonScaledToZero: size is 0 and no pod is left.
	ReasonScaledToZero = "ScaledToZero"
	// ReasonReplicasNotReady: fewer pods are ready than wanted.
	ReasonReplicasNotReady = "ReplicasNotReady"
	// ReasonScaling: the Deployment has not yet reached spec.size.
	ReasonScaling = "Scaling"
	// ReasonRollingOut: the Deployment is replacing pods with a new template.
	ReasonRollingOut = "RollingOut"
	// ReasonStable: nothing is changing.
	ReasonStable = "Stable"
	// ReasonDeploymentFailed: the Deployment reports ReplicaFailure or missed its progress deadline.
	ReasonDeploymentFailed = "DeploymentFailed"
	// ReasonImagePullFailed: a pod's image cannot be pulled (ErrImagePull, ImagePullBackOff, InvalidImageName).
	ReasonImagePullFailed = "ImagePullFailed"
	// ReasonCrashLooping: a pod's container keeps exiting (CrashLoopBackOff) or cannot be created or started.
	ReasonCrashLooping = "CrashLooping"
	// ReasonUnschedulable: the scheduler finds no node for a pod.
	ReasonUnschedulable = "Unschedulable"
	// ReasonReconcileFailed: the operator could not write the Deployment.
	ReasonReconcileFailed = "ReconcileFailed"
	// ReasonAsExpected: no problem was seen.
	ReasonAsExpected = "AsExpected"
)
