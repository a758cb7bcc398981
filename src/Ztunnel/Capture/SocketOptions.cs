using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;

namespace Ztunnel.Capture;

/// <summary>The Linux socket options capture depends on: marks, transparent sockets, original destination.</summary>
internal static class SocketOptions
{
    private const int SockaddrInLength = 16;
    private const int SockaddrIn6Length = 28;

    /// <summary>Sets SO_MARK; every daemon socket in a pod netns carries <see cref="InpodConfig.DaemonMark"/>.</summary>
    public static void SetMark(Socket socket, uint mark) =>
        LinuxNative.SetSocketOption(socket.SafeHandle, LinuxNative.SOL_SOCKET, LinuxNative.SO_MARK, unchecked((int)mark), $"SO_MARK=0x{mark:x}");

    /// <summary>Reads SO_MARK back (tests, diagnostics).</summary>
    public static uint GetMark(Socket socket)
    {
        Span<byte> value = stackalloc byte[sizeof(int)];
        LinuxNative.GetSocketOption(socket.SafeHandle, LinuxNative.SOL_SOCKET, LinuxNative.SO_MARK, value, "SO_MARK");
        return BitConverter.ToUInt32(value);
    }

    /// <summary>
    /// IP_FREEBIND (IPV6_FREEBIND): the socket may bind to an address the interface does not (yet) have in
    /// a usable state, such as an IPv6 address still tentative during duplicate address detection.
    /// </summary>
    public static void SetFreebind(Socket socket)
    {
        if (socket.AddressFamily == AddressFamily.InterNetworkV6)
        {
            LinuxNative.SetSocketOption(socket.SafeHandle, LinuxNative.SOL_IPV6, LinuxNative.IPV6_FREEBIND, 1, "IPV6_FREEBIND");
            return;
        }
        LinuxNative.SetSocketOption(socket.SafeHandle, LinuxNative.SOL_IP, LinuxNative.IP_FREEBIND, 1, "IP_FREEBIND");
    }

    /// <summary>
    /// IP_TRANSPARENT (IPV6_TRANSPARENT): a listener accepts TPROXY-diverted connections, and a connecting
    /// socket may bind to a foreign source address (the original client's IP). Transparent alone allows that
    /// bind (the kernel's nonlocal-bind check takes transparent, freebind or the sysctl), so no IP_FREEBIND:
    /// one setsockopt fewer per proxied inbound connection.
    /// </summary>
    public static void SetTransparent(Socket socket)
    {
        if (socket.AddressFamily == AddressFamily.InterNetworkV6)
        {
            LinuxNative.SetSocketOption(socket.SafeHandle, LinuxNative.SOL_IPV6, LinuxNative.IPV6_TRANSPARENT, 1, "IPV6_TRANSPARENT");
            return;
        }
        LinuxNative.SetSocketOption(socket.SafeHandle, LinuxNative.SOL_IP, LinuxNative.IP_TRANSPARENT, 1, "IP_TRANSPARENT");
    }

    /// <summary>
    /// IP_BIND_ADDRESS_NO_PORT: a bind to (ip, 0) only sets the source address; connect() picks the port
    /// by the whole 4-tuple. A plain bind(ip, 0) has to find a port no other socket of the netns is bound
    /// to, a scan of the ephemeral range that grows with every TIME_WAIT socket a busy pod leaves behind.
    /// The option is on the SOL_IP level and applies to IPv6 sockets as well (ip(7), ipv6(7)).
    /// </summary>
    public static void SetBindAddressNoPort(Socket socket) =>
        LinuxNative.SetSocketOption(socket.SafeHandle, LinuxNative.SOL_IP, LinuxNative.IP_BIND_ADDRESS_NO_PORT, 1, "IP_BIND_ADDRESS_NO_PORT");

    /// <summary>The congestion control of a pod-local connection (<see cref="UsePodLocalCongestionControl"/>).</summary>
    public const string PodLocalCongestionControl = "cubic";

    /// <summary>The same name as setsockopt takes it, made once (it is set on every inbound connection to an app).</summary>
    private static readonly byte[] s_podLocalCongestionControl = System.Text.Encoding.ASCII.GetBytes(PodLocalCongestionControl);

    /// <summary>
    /// Gives a connection that never leaves the pod (the app's side of a relay, over the pod's loopback) the
    /// kernel's default loss-based congestion control instead of the node's (TCP_CONGESTION). There is no
    /// network on that hop to share or to probe, and a node set to BBR would pace every burst on it with a
    /// timer (BBR asks for pacing, and without the fq qdisc TCP paces with an hrtimer per socket). In make bench
    /// (a BBR machine) this took the daemons' CPU per GB to 0.94x and 0.86x in two A/B runs, 1-stream throughput
    /// to 1.06x and 1.11x (docs/performance.md, "after the thirteenth session"). Connections that cross the network
    /// (HBONE, passthrough, inbound plaintext from other nodes) keep the node's choice. A kernel without cubic
    /// keeps its default too.
    /// </summary>
    public static void UsePodLocalCongestionControl(Socket socket)
    {
        try
        {
            LinuxNative.SetSocketOption(socket.SafeHandle, LinuxNative.SOL_TCP, LinuxNative.TCP_CONGESTION, s_podLocalCongestionControl,
                "TCP_CONGESTION=" + PodLocalCongestionControl);
        }
        catch (CaptureException e) when (e.Errno is LinuxNative.ENOENT or LinuxNative.EPERM)
        {
            // Not in this kernel, or not allowed to this process (net.ipv4.tcp_allowed_congestion_control without
            // CAP_NET_ADMIN): the node's default stays, which is only slower.
        }
    }

    /// <summary>Reads TCP_CONGESTION back (tests, diagnostics).</summary>
    public static string GetCongestionControl(Socket socket)
    {
        Span<byte> name = stackalloc byte[16]; // TCP_CA_NAME_MAX
        int length = LinuxNative.GetSocketOption(socket.SafeHandle, LinuxNative.SOL_TCP, LinuxNative.TCP_CONGESTION, name, "TCP_CONGESTION");
        name = name[..length];
        int end = name.IndexOf((byte)0);
        return System.Text.Encoding.ASCII.GetString(end < 0 ? name : name[..end]);
    }

    /// <summary>
    /// The destination the app connected to before our nat OUTPUT REDIRECT sent it to 15001
    /// (SO_ORIGINAL_DST; IP6T_SO_ORIGINAL_DST for IPv6 connections). Fails with a
    /// <see cref="CaptureException"/> (errno ENOENT) when the connection was not NATed.
    /// </summary>
    public static IPEndPoint GetOriginalDestination(Socket socket)
    {
        // The peer's family is the connection's (an IPv4 peer of a dual-stack listener is ::ffff:a.b.c.d on
        // both ends). An accepted socket knows its peer from accept(), while its local endpoint would cost a
        // getsockname() per connection.
        var peer = socket.RemoteEndPoint as IPEndPoint
            ?? throw new CaptureException("SO_ORIGINAL_DST: the socket has no local IP endpoint (not an accepted IP connection)");
        bool ipv4 = peer.AddressFamily == AddressFamily.InterNetwork || peer.Address.IsIPv4MappedToIPv6;
        if (ipv4)
        {
            // struct sockaddr_in: family (host order), port (network order), 4 address bytes, padding.
            Span<byte> sin = stackalloc byte[SockaddrInLength];
            LinuxNative.GetSocketOption(socket.SafeHandle, LinuxNative.SOL_IP, LinuxNative.SO_ORIGINAL_DST, sin, "SO_ORIGINAL_DST");
            return new IPEndPoint(new IPAddress(sin.Slice(4, 4)), BinaryPrimitives.ReadUInt16BigEndian(sin[2..]));
        }
        // struct sockaddr_in6: family, port (network order), flowinfo, 16 address bytes, scope id.
        Span<byte> sin6 = stackalloc byte[SockaddrIn6Length];
        LinuxNative.GetSocketOption(socket.SafeHandle, LinuxNative.SOL_IPV6, LinuxNative.IP6T_SO_ORIGINAL_DST, sin6, "IP6T_SO_ORIGINAL_DST");
        uint scope = BitConverter.ToUInt32(sin6.Slice(24, 4));
        return new IPEndPoint(new IPAddress(sin6.Slice(8, 16), scope), BinaryPrimitives.ReadUInt16BigEndian(sin6[2..]));
    }
}
