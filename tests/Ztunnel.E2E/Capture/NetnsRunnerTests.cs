using System.Net;
using System.Net.NetworkInformation;
using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;
using Ztunnel.Capture;

namespace Ztunnel.E2E.Capture;

/// <summary>The dedicated netns thread: it enters the right namespace, and always comes back.</summary>
public sealed class NetnsRunnerTests : IAsyncLifetime
{
    private readonly NetnsRunner _runner = new();
    private TestTopology? _topology;

    public async Task InitializeAsync() => _topology = await TestTopology.CreateAsync("cap");

    public Task DisposeAsync()
    {
        _runner.Dispose();
        _topology?.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task RunAsync_EntersEachNamespace_AndReturnsHomeAfterAFailure()
    {
        TestNamespace pod = _topology!.Pods[0];
        TestNamespace node = _topology.Node;

        (await _runner.RunAsync(pod.Path, LocalAddresses)).ShouldContain(pod.Address);
        await Should.ThrowAsync<InvalidOperationException>(() => _runner.RunAsync<int>(pod.Path, () => throw new InvalidOperationException("boom")));
        (await _runner.RunAsync(node.Path, LocalAddresses)).ShouldContain(node.Address);
        IPAddress[] home = await _runner.RunAsync("/proc/self/ns/net", LocalAddresses);

        home.ShouldNotContain(pod.Address);
        home.ShouldNotContain(node.Address);
        LocalAddresses().ShouldNotContain(pod.Address);
    }

    [Fact]
    public async Task RunAsync_MissingNetns_ThrowsCaptureExceptionNamingPath()
    {
        const string missing = "/var/run/netns/cap-does-not-exist";

        var error = await Should.ThrowAsync<CaptureException>(() => _runner.RunAsync(missing, () => 1));

        error.Message.ShouldContain(missing);
        error.Errno.ShouldBe(2); // ENOENT
    }

    [Fact]
    public async Task CreateListenerAsync_AddressNotInPod_ThrowsCaptureExceptionNamingIt()
    {
        TestNamespace pod = _topology!.Pods[0];
        var elsewhere = new IPEndPoint(_topology.Node.Address, 8081);

        var error = await Should.ThrowAsync<CaptureException>(() => _runner.CreateListenerAsync(pod.Path, elsewhere, transparent: false, mark: 0));

        error.Message.ShouldContain(elsewhere.ToString());
        error.Message.ShouldContain(pod.Path);
    }

    [Fact]
    public async Task CreateConnectingSocketAsync_CarriesMarkAndForeignSource()
    {
        TestNamespace pod = _topology!.Pods[0];
        var client = new IPEndPoint(_topology.Node.Address, 4242);

        using Socket socket = await _runner.CreateConnectingSocketAsync(pod.Path, AddressFamily.InterNetwork, InpodConfig.DaemonMark, client);

        SocketOptions.GetMark(socket).ShouldBe(InpodConfig.DaemonMark);
        var local = (IPEndPoint)socket.LocalEndPoint!;
        local.Address.ShouldBe(client.Address);
        local.Port.ShouldNotBe(0);
    }

    [Theory]
    [InlineData(40000, 40001)]
    [InlineData(40001, 40000)]
    public async Task CreateConnectingSocketAsync_NeverPicksTheClientsOwnPort(int clientPort, int expected)
    {
        TestNamespace pod = _topology!.Pods[0];
        // Two ephemeral ports only: whichever the kernel tries first, the client's must be avoided.
        await TestTopology.ExecAsync(pod, "sysctl", "-q", "-w", "net.ipv4.ip_local_port_range=40000 40001");

        using Socket socket = await _runner.CreateConnectingSocketAsync(pod.Path, AddressFamily.InterNetwork, InpodConfig.DaemonMark, new IPEndPoint(_topology.Node.Address, clientPort));

        ((IPEndPoint)socket.LocalEndPoint!).Port.ShouldBe(expected);
    }

    [Fact]
    public async Task CreateConnectingSocketAsync_ByOpenHandle_MakesTheSocketInsideThatNamespace()
    {
        TestNamespace pod = _topology!.Pods[0];
        using Socket inPod = await _runner.CreateListenerAsync(pod.Path, new IPEndPoint(pod.Address, 8082), transparent: false, mark: 0);
        using SafeFileHandle netns = LinuxNative.OpenNamespace(pod.Path);

        // A foreign source with port 0 (the daemon's inbound case): bound to the address, connect picks the port.
        var foreign = new IPEndPoint(_topology.Node.Address, 0);
        using Socket socket = await _runner.CreateConnectingSocketAsync(netns, pod.Path, AddressFamily.InterNetwork, InpodConfig.DaemonMark, foreign);

        NetnsCookie(socket).ShouldBe(NetnsCookie(inPod));
        using var here = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        NetnsCookie(socket).ShouldNotBe(NetnsCookie(here));
        SocketOptions.GetMark(socket).ShouldBe(InpodConfig.DaemonMark);
        ((IPEndPoint)socket.LocalEndPoint!).Address.ShouldBe(foreign.Address);
        LocalAddresses().ShouldNotContain(pod.Address); // the calling thread is home again
    }

    [Fact]
    public async Task CreateConnectingSocketAsync_HandleClosedByPodRemoval_FailsWithCaptureExceptionNamingPath()
    {
        TestNamespace pod = _topology!.Pods[0];
        SafeFileHandle netns = LinuxNative.OpenNamespace(pod.Path);
        netns.Dispose();

        var error = await Should.ThrowAsync<CaptureException>(() => _runner.CreateConnectingSocketAsync(netns, pod.Path, AddressFamily.InterNetwork, InpodConfig.DaemonMark, null));

        error.Message.ShouldContain(pod.Path);
        LocalAddresses().ShouldNotContain(pod.Address);
    }

    /// <summary>SO_NETNS_COOKIE (Linux 5.14): which network namespace a socket belongs to.</summary>
    private static ulong NetnsCookie(Socket socket)
    {
        Span<byte> value = stackalloc byte[sizeof(ulong)];
        LinuxNative.GetSocketOption(socket.SafeHandle, LinuxNative.SOL_SOCKET, 71, value, "SO_NETNS_COOKIE");
        return BitConverter.ToUInt64(value);
    }

    private static IPAddress[] LocalAddresses() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(nic => nic.GetIPProperties().UnicastAddresses)
            .Select(address => address.Address)
            .ToArray();
}
