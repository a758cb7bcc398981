namespace Ztunnel.Discovery;

/// <summary>A service port and the workload port it forwards to (Kubernetes <c>port</c>/<c>targetPort</c>).</summary>
internal readonly record struct ServicePort(int Port, int TargetPort);
