using System.Net;
using System.Net.Sockets;
using Ztunnel.Capture;
using Ztunnel.Sockets;
namespace Ztunnel.Proxy;

/// <summary>Outgoing connections made from inside a pod's network namespace, marked so they are never captured.</summary>
internal static class PodSockets
{
    /// <summary>
    /// Connects from <paramref name="pod"/>'s netns to <paramref name="target"/>. With
    /// <paramref name="sourceAddress"/>, the connection carries that source IP (IP_TRANSPARENT), so the
    /// app sees the real client. Throws <see cref="SocketException"/> or <see cref="TimeoutException"/>. The socket
    /// is the daemon's poller's from the start (<see cref="PolledSocket"/>): the runtime's socket engine never sees it.
    /// </summary>
    public static async Task<PolledSocket> ConnectAsync(ProxyContext context, EnrolledPod pod, IPEndPoint target, IPAddress? sourceAddress, CancellationToken cancellationToken)
    {
        IPEndPoint? transparentSource = sourceAddress is null ? null : new IPEndPoint(sourceAddress, 0);
        // A connection with the client's source is the one to the app in this pod: it stays on the pod's loopback.
        bool toAppInPod = sourceAddress is not null;
        Socket created = await context.Netns.CreateConnectingSocketAsync(pod.NetnsHandle, pod.Netns, target.AddressFamily, InpodConfig.DaemonMark, transparentSource);
        PolledSocket socket;
        try
        {
            if (toAppInPod)
            {
                SocketOptions.UsePodLocalCongestionControl(created);
            }
            socket = new PolledSocket(created);
        }
        catch
        {
            created.Dispose();
            throw;
        }
        try
        {
            await socket.ConnectAsync(target, cancellationToken, targetIsLocal: toAppInPod, context.ConnectTimeout);
            socket.Socket.NoDelay = true;
            return socket;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            throw new TimeoutException($"connect to {target} timed out after {context.ConnectTimeout.TotalSeconds:0}s");
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// An endpoint of an accepted socket as the rest of the daemon speaks of it: an IPv4 peer of a
    /// dual-stack <c>[::]</c> listener (<c>::ffff:a.b.c.d</c>) becomes plain IPv4 again.
    /// </summary>
    public static IPEndPoint Unmapped(EndPoint? endPoint)
    {
        var ip = (IPEndPoint)endPoint!;
        return ip.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(ip.Address.MapToIPv4(), ip.Port) : ip;
    }

    /// <summary>
    /// Accepts connections until <paramref name="stopping"/> or the listener is closed; each is handled on its own
    /// task. The listener is the daemon's poller's from here on (<see cref="PolledSocket.AcceptAsync"/>).
    /// </summary>
    public static async Task AcceptLoopAsync(Socket listener, Func<Socket, Task> handle, Action<Exception> onError, CancellationToken stopping)
    {
        PolledSocket polled;
        try
        {
            polled = PolledSocket.Listening(listener);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // The poller could not take it (out of epoll watches), or the pod went first: say so, serve nothing.
            onError(ex);
            return;
        }
        using var owned = polled;
        while (!stopping.IsCancellationRequested)
        {
            Socket accepted;
            try
            {
                accepted = await polled.AcceptAsync(stopping);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException
                                           || (ex is SocketException se && se.SocketErrorCode == SocketError.OperationAborted))
            {
                return;
            }
            catch (SocketException ex)
            {
                // Out of file descriptors or similar: say so and keep serving the connections we have.
                onError(ex);
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(100), stopping);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                continue;
            }
            // TCP_NODELAY is inherited from the listener (NetnsRunner.CreateListenerAsync sets it).
            _ = handle(accepted);
        }
    }
}
