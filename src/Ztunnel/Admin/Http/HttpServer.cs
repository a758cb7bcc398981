using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Ztunnel.Admin.Http;

/// <summary>
/// A small, strict HTTP/1.1 server on one address (TCP, or a unix socket) with one handler: the admin, metrics
/// and readiness endpoints (DESIGN §2) and the pod registration API. Requests are bounded in size and time
/// (<see cref="HttpServerOptions"/>); answers carry a Content-Length; connections are kept alive.
/// </summary>
internal sealed class HttpServer : IAsyncDisposable
{
    /// <summary>How long <see cref="DisposeAsync"/> lets running requests finish.</summary>
    public static readonly TimeSpan DefaultDrain = TimeSpan.FromSeconds(5);

    // Sent to a connection over the limit; small enough to fit any socket buffer, so the send never waits.
    private static readonly byte[] TooManyConnections =
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: 21\r\nConnection: close\r\n\r\ntoo many connections\n"u8.ToArray();

    private const int SolSocket = 1;
    private const int SoReuseAddr = 2;

    private readonly Socket _listener;
    private readonly HashSet<HttpConnection> _connections = [];
    private readonly CancellationTokenSource _stopAccepting = new();
    private readonly CancellationTokenSource _stopDeadline = new();
    private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _acceptLoop = Task.CompletedTask;
    private int _stopping;

    private HttpServer(string name, Socket listener, EndPoint localEndPoint, HttpHandler handler, ILogger logger, HttpServerOptions options)
    {
        Name = name;
        _listener = listener;
        LocalEndPoint = localEndPoint;
        Handler = handler;
        Logger = logger;
        Options = options;
    }

    public string Name { get; }

    /// <summary>Where the server listens (the real port when started on TCP port 0).</summary>
    public EndPoint LocalEndPoint { get; }

    public HttpServerOptions Options { get; }

    /// <summary>Open connections (tests, metrics).</summary>
    public int ConnectionCount
    {
        get
        {
            lock (_connections)
            {
                return _connections.Count;
            }
        }
    }

    internal HttpHandler Handler { get; }

    internal ILogger Logger { get; }

    internal bool Stopping => Volatile.Read(ref _stopping) != 0;

    /// <summary>Cancelled when the stop deadline passes: handlers still running are abandoned.</summary>
    internal CancellationToken StopDeadline => _stopDeadline.Token;

    /// <summary>Listens on <paramref name="address"/>; throws <see cref="IOException"/> naming the endpoint when it cannot.</summary>
    public static HttpServer Start(string name, EndPoint address, HttpHandler handler, ILoggerFactory loggerFactory, HttpServerOptions? options = null)
    {
        Socket listener = address is UnixDomainSocketEndPoint
            ? new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified)
            : new Socket(address.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (address is IPEndPoint ip)
            {
                // A restarted daemon binds again while the old connections sit in TIME_WAIT. Raw SO_REUSEADDR: .NET's
                // ReuseAddress also sets SO_REUSEPORT, which would let a second daemon share the port silently.
                listener.SetRawSocketOption(SolSocket, SoReuseAddr, [1, 0, 0, 0]);
                if (ip.Address.Equals(IPAddress.IPv6Any))
                {
                    listener.DualMode = true;
                }
            }
            listener.Bind(address);
            listener.Listen(128);
        }
        catch (SocketException ex)
        {
            listener.Dispose();
            throw new IOException($"cannot serve the {name} endpoint on {address}: {ex.Message}", ex);
        }
        EndPoint local = address is IPEndPoint ? listener.LocalEndPoint! : address;
        var server = new HttpServer(name, listener, local, handler, loggerFactory.CreateLogger<HttpServer>(), options ?? new HttpServerOptions());
        server._acceptLoop = server.AcceptLoopAsync();
        HttpLog.Listening(server.Logger, name, local);
        return server;
    }

    /// <summary>
    /// Stops accepting, closes idle kept-alive connections, lets running requests finish for up to
    /// <paramref name="drain"/> (their answers say Connection: close), then closes what is left.
    /// </summary>
    public async Task StopAsync(TimeSpan drain)
    {
        if (Interlocked.Exchange(ref _stopping, 1) != 0)
        {
            await _stopped.Task;
            return;
        }
        await _stopAccepting.CancelAsync();
        _listener.Dispose();
        await _acceptLoop;
        // Closing a connection can run its end inline, which removes it from the set: work on a copy.
        HttpConnection[] open = Snapshot();
        var closing = new Task[open.Length];
        for (int i = 0; i < open.Length; i++)
        {
            open[i].CloseIfIdle();
            closing[i] = open[i].Closing;
        }
        try
        {
            await Task.WhenAll(closing).WaitAsync(drain, Options.TimeProvider);
        }
        catch (TimeoutException)
        {
            HttpLog.Aborted(Logger, Name, ConnectionCount);
            await _stopDeadline.CancelAsync();
            foreach (HttpConnection connection in Snapshot())
            {
                connection.Abort();
            }
        }
        _stopped.TrySetResult();
    }

    private HttpConnection[] Snapshot()
    {
        lock (_connections)
        {
            return [.. _connections];
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(DefaultDrain);
        _stopAccepting.Dispose();
    }

    internal void Remove(HttpConnection connection)
    {
        lock (_connections)
        {
            _connections.Remove(connection);
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptAsync(_stopAccepting.Token);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException || Stopping)
            {
                return;
            }
            catch (SocketException ex)
            {
                // Out of descriptors (EMFILE) and the like: say so, and do not spin while it lasts.
                HttpLog.AcceptFailed(Logger, Name, ex.Message);
                await Task.Delay(TimeSpan.FromMilliseconds(100), Options.TimeProvider, CancellationToken.None);
                continue;
            }
            Admit(client);
        }
    }

    private void Admit(Socket client)
    {
        if (client.AddressFamily != AddressFamily.Unix)
        {
            client.NoDelay = true;
        }
        HttpConnection? connection = null;
        int open;
        lock (_connections)
        {
            open = _connections.Count;
            if (open < Options.MaxConnections)
            {
                connection = new HttpConnection(this, client);
                _connections.Add(connection);
            }
        }
        if (connection is not null)
        {
            ThreadPool.UnsafeQueueUserWorkItem(connection, preferLocal: false);
            return;
        }
        HttpLog.Refused(Logger, Name, open);
        try
        {
            client.Send(TooManyConnections);
            client.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // The client is gone already.
        }
        client.Dispose();
    }
}
