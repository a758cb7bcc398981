using System.Net.Sockets;
using Ztunnel.Capture;

namespace Ztunnel.E2E.Telemetry;

/// <summary>
/// An HttpClient whose connections are made from inside a network namespace (the socket is created there by
/// <see cref="NetnsRunner"/>), so the test reaches servers bound to that namespace's loopback.
/// </summary>
internal static class NetnsHttp
{
    public static HttpClient Create(NetnsRunner runner, TestNamespace ns, Uri baseAddress)
    {
        var handler = new SocketsHttpHandler
        {
            ConnectCallback = async (context, cancellationToken) =>
            {
                Socket socket = await runner.RunAsync(ns.Path, () => new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
                try
                {
                    await socket.ConnectAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, cancellationToken);
                    return new NetworkStream(socket, ownsSocket: true);
                }
                catch
                {
                    socket.Dispose();
                    throw;
                }
            },
        };
        return new HttpClient(handler) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }
}
