using System.Globalization;
using System.Net.Sockets;
using System.Text;
using Xunit.Abstractions;
using Ztunnel.E2E.Mesh;

namespace Ztunnel.E2E.Daemon;

/// <summary>The two-node mesh of <see cref="MeshBulkTests"/>, with no policies.</summary>
public sealed class BulkMeshFixture() : MeshFixture("e2e-bulk");

/// <summary>
/// Volume through the full path (client pod -> node a daemon -> HBONE -> node b daemon -> server pod):
/// one large transfer checksummed end to end, and many connections at once, each verified.
/// </summary>
public sealed class MeshBulkTests(BulkMeshFixture mesh, ITestOutputHelper output) : IClassFixture<BulkMeshFixture>
{
    [Fact]
    public async Task OneGibibyte_CrossNode_ArrivesIntact()
    {
        const long length = 1L << 30;

        TimeSpan elapsed = await mesh.ClientApp.SendAndVerifyAsync(mesh.AppB.HashEndPoint, length);

        mesh.AppB.Peers[^1].Address.ShouldBe(mesh.Client.Address);
        output.WriteLine($"1 GiB client pod -> node a -> HBONE -> node b -> server pod, SHA-256 verified: " +
            $"{elapsed.TotalSeconds:0.00} s, {length / elapsed.TotalSeconds / (1 << 20):0} MiB/s " +
            $"({length * 8 / elapsed.TotalSeconds / 1e9:0.00} Gbit/s)");
    }

    [Fact]
    public async Task TwoHundredConcurrentConnections_CrossNode_EachGetsItsOwnBytesBack()
    {
        const int connections = 200;
        var conversations = new Task<string>[connections];
        for (int i = 0; i < connections; i++)
        {
            conversations[i] = ConverseAsync(i);
        }

        string[] failures = (await Task.WhenAll(conversations)).Where(f => f.Length > 0).ToArray();

        failures.ShouldBeEmpty();
    }

    [Fact]
    public async Task ManyShortConnections_LeaveNoFileDescriptorsBehind_InEitherDaemon()
    {
        const int connections = 300;
        // Warm up: the pooled HBONE connection and certificates exist before the baseline.
        int warmA = mesh.DaemonA.LineCount;
        int warmB = mesh.DaemonB.LineCount;
        await mesh.ClientApp.EchoAsync(mesh.AppB.EchoEndPoint, "warm up");
        await WaitForClosedAsync(warmA, 1, warmB);
        int baselineA = OpenFiles(mesh.DaemonA);
        int baselineB = OpenFiles(mesh.DaemonB);
        int markA = mesh.DaemonA.LineCount;
        int markB = mesh.DaemonB.LineCount;

        for (int i = 0; i < connections; i++)
        {
            (await mesh.ClientApp.EchoAsync(mesh.AppB.EchoEndPoint, $"short {i}")).Echoed.ShouldBe($"short {i}");
        }

        // Each daemon logs a connection's end after it released the connection's sockets.
        await WaitForClosedAsync(markA, connections, markB);
        OpenFiles(mesh.DaemonA).ShouldBeLessThanOrEqualTo(baselineA + 8, "node a's daemon kept file descriptors");
        OpenFiles(mesh.DaemonB).ShouldBeLessThanOrEqualTo(baselineB + 8, "node b's daemon kept file descriptors");
    }

    private async Task WaitForClosedAsync(int markA, int count, int markB = -1)
    {
        await mesh.DaemonA.WaitForLogAsync($"Outbound {mesh.Client.Address}:", markA, count);
        if (markB >= 0)
        {
            await mesh.DaemonB.WaitForLogAsync($"InboundHbone {mesh.Client.Address}:", markB, count);
        }
    }

    private static int OpenFiles(DaemonProcess daemon) => Directory.GetFiles($"/proc/{daemon.ProcessId}/fd").Length;

    // Each connection carries its own payload (a few KiB, distinct per connection) and must get exactly
    // that back behind the server's greeting; returns "" or what went wrong.
    private async Task<string> ConverseAsync(int index)
    {
        var payload = new StringBuilder();
        for (int line = 0; line < 64 + index % 17; line++)
        {
            payload.Append(CultureInfo.InvariantCulture, $"connection {index} line {line}\n");
        }
        try
        {
            EchoReply reply = await mesh.ClientApp.EchoAsync(mesh.AppB.EchoEndPoint, payload.ToString());
            if (reply.Server != "server-b" || !reply.SeenClient.Equals(mesh.Client.Address))
            {
                return $"connection {index}: answered by {reply.Server} seeing {reply.SeenClient}";
            }
            return reply.Echoed == payload.ToString() ? "" : $"connection {index}: got {reply.Echoed.Length} bytes back, sent {payload.Length}";
        }
        catch (Exception ex) when (ex is SocketException or IOException or TimeoutException or InvalidDataException)
        {
            return $"connection {index}: {ex.GetType().Name}: {ex.Message}";
        }
    }
}
