using System.Net;
using System.Net.Sockets;
using Ztunnel.Capture;

namespace Ztunnel.Tests.Capture;

public sealed class SocketOptionsTests
{
    [Fact]
    public void SetMark_IsReadBack()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        SocketOptions.SetMark(socket, InpodConfig.DaemonMark);

        SocketOptions.GetMark(socket).ShouldBe(0x539u);
    }

    [Theory]
    [InlineData(AddressFamily.InterNetwork)]
    [InlineData(AddressFamily.InterNetworkV6)]
    public void SetTransparent_SetsTransparentOption(AddressFamily family)
    {
        using var socket = new Socket(family, SocketType.Stream, ProtocolType.Tcp);

        SocketOptions.SetTransparent(socket);

        bool v6 = family == AddressFamily.InterNetworkV6;
        Span<byte> value = stackalloc byte[4];
        LinuxNative.GetSocketOption(socket.SafeHandle, v6 ? LinuxNative.SOL_IPV6 : LinuxNative.SOL_IP, v6 ? LinuxNative.IPV6_TRANSPARENT : LinuxNative.IP_TRANSPARENT, value, "transparent");
        BitConverter.ToInt32(value).ShouldBe(1);
    }

    [Fact]
    public async Task UsePodLocalCongestionControl_OnAListener_ReachesWhatItAccepts()
    {
        using Socket listener = LoopbackListener();
        SocketOptions.UsePodLocalCongestionControl(listener);
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!);

        using Socket accepted = await listener.AcceptAsync();

        // The daemon's outbound listener relies on this: one setsockopt per pod, none per connection.
        SocketOptions.GetCongestionControl(accepted).ShouldBe(SocketOptions.PodLocalCongestionControl);
    }

    [Fact]
    public async Task UsePodLocalCongestionControl_BeforeConnect_StaysOnTheConnection()
    {
        using Socket listener = LoopbackListener();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        string nodeDefault = SocketOptions.GetCongestionControl(client);

        SocketOptions.UsePodLocalCongestionControl(client);
        await client.ConnectAsync(listener.LocalEndPoint!);
        using Socket accepted = await listener.AcceptAsync();

        SocketOptions.GetCongestionControl(client).ShouldBe(SocketOptions.PodLocalCongestionControl);
        // The other end never asked: it keeps the node's default (bbr on this project's machines).
        SocketOptions.GetCongestionControl(accepted).ShouldBe(nodeDefault);
    }

    [Fact]
    public async Task GetOriginalDestination_ConnectionNotRedirected_ThrowsCaptureExceptionWithErrno()
    {
        using Socket listener = LoopbackListener();
        using var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await client.ConnectAsync(listener.LocalEndPoint!);
        using Socket accepted = await listener.AcceptAsync();

        var error = Should.Throw<CaptureException>(() => SocketOptions.GetOriginalDestination(accepted));

        error.Message.ShouldContain("SO_ORIGINAL_DST");
        error.Errno.ShouldNotBe(0);
    }

    [Fact]
    public void GetOriginalDestination_UnboundSocket_ThrowsCaptureException()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

        Should.Throw<CaptureException>(() => SocketOptions.GetOriginalDestination(socket)).Message.ShouldContain("no local IP endpoint");
    }

    [Fact]
    public void SetMark_ClosedSocket_ThrowsObjectDisposed()
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Dispose();

        Should.Throw<ObjectDisposedException>(() => SocketOptions.SetMark(socket, 1));
    }

    private static Socket LoopbackListener()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        return listener;
    }
}
