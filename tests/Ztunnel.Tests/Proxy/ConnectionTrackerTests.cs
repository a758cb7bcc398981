using System.Net;
using Ztunnel.Proxy;

namespace Ztunnel.Tests.Proxy;

public sealed class ConnectionTrackerTests
{
    private static ConnectionDescription Description() => new(
        ConnectionDirection.InboundPlaintext, new IPEndPoint(IPAddress.Loopback, 1), new IPEndPoint(IPAddress.Loopback, 2), null, null, null, null);

    [Fact]
    public async Task Drain_WaitsForConnectionsThatEndOnTheirOwn()
    {
        var tracker = new ConnectionTracker(TimeProvider.System);
        var connection = tracker.Register(Description());

        Task<int> drain = tracker.DrainAsync(TimeSpan.FromMinutes(5));
        drain.IsCompleted.ShouldBeFalse();
        connection.Dispose();

        (await drain.WaitAsync(TimeSpan.FromSeconds(30))).ShouldBe(0);
        connection.CloseReason.ShouldBeNull();
        tracker.Count.ShouldBe(0);
    }

    [Fact]
    public async Task Drain_AfterDeadline_ClosesWhatIsLeft()
    {
        var tracker = new ConnectionTracker(TimeProvider.System);
        var connection = tracker.Register(Description());

        (await tracker.DrainAsync(TimeSpan.Zero)).ShouldBe(1);

        connection.CloseReason.ShouldBe("daemon shutting down");
    }

    [Fact]
    public void Close_AfterDispose_IsHarmless()
    {
        var tracker = new ConnectionTracker(TimeProvider.System);
        var connection = tracker.Register(Description());
        connection.Dispose();

        Should.NotThrow(() => connection.Close("policy changed"));
        tracker.Snapshot().ShouldBeEmpty();
    }
}
