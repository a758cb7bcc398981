namespace Ztunnel.Capture.Registration;

/// <summary>
/// What the daemon does when a pod arrives on or leaves its node: install or remove the capture rules
/// and open or close the pod's listeners. Implemented by the daemon; the registry only calls it.
/// </summary>
public interface IPodLifecycle
{
    /// <summary>Sets the pod up. Must be idempotent: a re-add or a daemon restart finds things half-done.</summary>
    Task StartAsync(PodRegistration pod, CancellationToken cancellationToken);

    /// <summary>Tears the pod down; must succeed when parts are already gone (the netns may be deleted).</summary>
    Task StopAsync(PodRegistration pod, CancellationToken cancellationToken);
}
