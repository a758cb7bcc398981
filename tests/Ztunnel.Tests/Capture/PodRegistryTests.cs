using Microsoft.Extensions.Logging.Abstractions;
using Ztunnel.Capture.Registration;

namespace Ztunnel.Tests.Capture;

public sealed class PodRegistryTests
{
    private sealed class CancelledLifecycle : IPodLifecycle
    {
        public Task StartAsync(PodRegistration pod, CancellationToken cancellationToken) => throw new OperationCanceledException();
        public Task StopAsync(PodRegistration pod, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    [Fact]
    public async Task Add_SetupCancelled_LeavesThePodFailedNotPending()
    {
        var registry = new PodRegistry(new CancelledLifecycle(), NullLogger<PodRegistry>.Instance);

        await Should.ThrowAsync<OperationCanceledException>(() => registry.AddAsync(RegistrationApiTests.Pod(), CancellationToken.None));

        PodStatus status = registry.Find("uid-1")!;
        status.State.ShouldBe(PodState.Failed);   // readiness would otherwise wait for a pending pod forever
        status.Error.ShouldBe("setup was cancelled");
    }

    [Fact]
    public async Task Restore_ReAddsSavedPodsWhoseNetnsExists_AndSkipsTheGoneOnes()
    {
        string dir = Directory.CreateTempSubdirectory("ztunnel-registry-").FullName;
        try
        {
            string netns = Path.Combine(dir, "netns");
            await File.WriteAllTextAsync(netns, "");
            string state = Path.Combine(dir, "pods.json");
            var lifecycle = new RegistrationApiTests.RecordingLifecycle();
            var first = new PodRegistry(lifecycle, NullLogger<PodRegistry>.Instance, state);
            await first.AddAsync(RegistrationApiTests.Pod("alive") with { Netns = netns }, CancellationToken.None);
            await first.AddAsync(RegistrationApiTests.Pod("gone", "10.0.0.6") with { Netns = Path.Combine(dir, "deleted") }, CancellationToken.None);

            var restarted = new PodRegistry(new RegistrationApiTests.RecordingLifecycle(), NullLogger<PodRegistry>.Instance, state);
            (await restarted.RestoreAsync(CancellationToken.None)).ShouldBe(1);

            restarted.List().Select(p => p.Pod.Uid).ShouldBe(["alive"]);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
