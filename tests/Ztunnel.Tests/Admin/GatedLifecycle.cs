using Ztunnel.Capture.Registration;

namespace Ztunnel.Tests.Admin;

/// <summary>A pod lifecycle whose setup waits until the test lets it finish (or fail), so a pod can be seen pending.</summary>
internal sealed class GatedLifecycle : IPodLifecycle
{
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when a setup is waiting at the gate.</summary>
    public Task Started => _started.Task;

    public string? FailWith { get; set; }

    public void Release() => _release.TrySetResult();

    public async Task StartAsync(PodRegistration pod, CancellationToken cancellationToken)
    {
        _started.TrySetResult();
        await _release.Task.WaitAsync(cancellationToken);
        if (FailWith is not null)
        {
            throw new InvalidOperationException(FailWith);
        }
    }

    public Task StopAsync(PodRegistration pod, CancellationToken cancellationToken) => Task.CompletedTask;
}
