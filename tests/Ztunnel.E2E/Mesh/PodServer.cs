using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Ztunnel.Capture;

namespace Ztunnel.E2E.Mesh;

/// <summary>
/// A plain TCP app inside a pod netns that knows nothing of the mesh: its listening sockets are created in
/// the pod's netns (not marked), so connections reach them exactly as they would reach any app there.
/// On <see cref="EchoPort"/> it greets each client with "NAME CLIENT-IP" (the address it sees) and echoes
/// until the client half-closes; on <see cref="HashPort"/> it reads to the end and answers
/// "LENGTH SHA256HEX" of what it received; on <see cref="FinFirstPort"/> it greets, half-closes at once,
/// and then reads to the end, reporting how many bytes it got after its own FIN.
/// </summary>
public sealed class PodServer : IAsyncDisposable
{
    public const int EchoPort = 8080;
    public const int HashPort = 9090;
    public const int FinFirstPort = 7070;

    private readonly Socket _echo;
    private readonly Socket _hash;
    private readonly Socket _finFirst;
    private readonly System.Threading.Channels.Channel<long> _receivedAfterFin = System.Threading.Channels.Channel.CreateUnbounded<long>();
    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentQueue<IPEndPoint> _peers = new();
    private readonly List<Task> _loops = [];

    private PodServer(string name, TestNamespace pod, Socket echo, Socket hash, Socket finFirst)
    {
        Name = name;
        Pod = pod;
        _echo = echo;
        _hash = hash;
        _finFirst = finFirst;
        _loops.Add(AcceptLoopAsync(_echo, EchoAsync));
        _loops.Add(AcceptLoopAsync(_hash, HashAsync));
        _loops.Add(AcceptLoopAsync(_finFirst, FinFirstAsync));
    }

    public string Name { get; }

    public TestNamespace Pod { get; }

    public IPEndPoint EchoEndPoint => new(Pod.Address, EchoPort);

    public IPEndPoint HashEndPoint => new(Pod.Address, HashPort);

    public IPEndPoint FinFirstEndPoint => new(Pod.Address, FinFirstPort);

    /// <summary>The next count of bytes a <see cref="FinFirstPort"/> connection received after the server's FIN.</summary>
    public Task<long> NextReceivedAfterFinAsync() => _receivedAfterFin.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));

    /// <summary>How many connections the app accepted (on either port) since it started.</summary>
    public int AcceptedCount => _peers.Count;

    /// <summary>The client address of every connection the app accepted, in order.</summary>
    public IReadOnlyList<IPEndPoint> Peers => [.. _peers];

    internal static async Task<PodServer> StartAsync(NetnsRunner runner, TestNamespace pod, string name)
    {
        var sockets = new List<Socket>();
        try
        {
            foreach (int port in (int[])[EchoPort, HashPort, FinFirstPort])
            {
                // [::] is dual stack: IPv4 clients arrive as ::ffff:a.b.c.d (see Peer).
                sockets.Add(await runner.CreateListenerAsync(pod.Path, new IPEndPoint(IPAddress.IPv6Any, port), transparent: false, mark: 0));
            }
            return new PodServer(name, pod, sockets[0], sockets[1], sockets[2]);
        }
        catch
        {
            foreach (Socket socket in sockets)
            {
                socket.Dispose();
            }
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        _echo.Dispose();
        _hash.Dispose();
        _finFirst.Dispose();
        await Task.WhenAll(_loops);
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync(Socket listener, Func<Socket, Task> serve)
    {
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await listener.AcceptAsync(_stopping.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _peers.Enqueue(Peer(accepted));
            _ = ServeAsync(accepted, serve);
        }
    }

    private static async Task ServeAsync(Socket socket, Func<Socket, Task> serve)
    {
        using (socket)
        {
            try
            {
                await serve(socket);
            }
            catch (Exception ex) when (ex is SocketException or ObjectDisposedException or OperationCanceledException)
            {
                // The client (or the mesh) cut the connection; the test on the client side notices.
            }
        }
    }

    private async Task EchoAsync(Socket socket)
    {
        IPEndPoint peer = Peer(socket);
        await SendAllAsync(socket, Encoding.ASCII.GetBytes($"{Name} {peer.Address}\n"));
        byte[] buffer = new byte[64 * 1024];
        int read;
        while ((read = await socket.ReceiveAsync(buffer.AsMemory(), _stopping.Token)) > 0)
        {
            await SendAllAsync(socket, buffer.AsMemory(0, read));
        }
        socket.Shutdown(SocketShutdown.Send);
    }

    private async Task HashAsync(Socket socket)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        byte[] buffer = new byte[256 * 1024];
        long total = 0;
        int read;
        while ((read = await socket.ReceiveAsync(buffer.AsMemory(), _stopping.Token)) > 0)
        {
            hash.AppendData(buffer, 0, read);
            total += read;
        }
        string answer = $"{total.ToString(CultureInfo.InvariantCulture)} {Convert.ToHexStringLower(hash.GetHashAndReset())}\n";
        await SendAllAsync(socket, Encoding.ASCII.GetBytes(answer));
        socket.Shutdown(SocketShutdown.Send);
    }

    private async Task FinFirstAsync(Socket socket)
    {
        IPEndPoint peer = Peer(socket);
        await SendAllAsync(socket, Encoding.ASCII.GetBytes($"{Name} {peer.Address}\n"));
        socket.Shutdown(SocketShutdown.Send);
        byte[] buffer = new byte[64 * 1024];
        long total = 0;
        int read;
        while ((read = await socket.ReceiveAsync(buffer.AsMemory(), _stopping.Token)) > 0)
        {
            total += read;
        }
        _receivedAfterFin.Writer.TryWrite(total);
    }

    /// <summary>The client as an app would print it: an IPv4 client as a.b.c.d, not ::ffff:a.b.c.d.</summary>
    private static IPEndPoint Peer(Socket socket)
    {
        var peer = (IPEndPoint)socket.RemoteEndPoint!;
        return peer.Address.IsIPv4MappedToIPv6 ? new IPEndPoint(peer.Address.MapToIPv4(), peer.Port) : peer;
    }

    private async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            int sent = await socket.SendAsync(data, _stopping.Token);
            data = data[sent..];
        }
    }
}
