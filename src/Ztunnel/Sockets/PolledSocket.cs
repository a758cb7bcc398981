using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Ztunnel.Capture;

namespace Ztunnel.Sockets;

/// <summary>
/// A non-blocking TCP socket whose readiness comes from <see cref="SocketPoller"/>: connect, accept, send and
/// receive that never block, and waits that cost no syscall when the last attempt already showed the socket empty (or
/// full). Owns the socket: disposing closes it and fails a pending wait.
/// </summary>
/// <remarks>
/// One reader and one writer at a time (a relay direction each, or the TLS stream's read and write sides). The
/// wait state per direction lives here: the event count seen before the last receive (send) and whether that
/// attempt drained (filled) the socket. A wait after an attempt that did not is answered at once: the caller
/// tries again rather than wait for an event that already came.
/// </remarks>
internal sealed class PolledSocket : IDisposable
{
    private readonly ReadinessSignal _readable = new();
    private readonly ReadinessSignal _writable = new();
    private readonly SocketPoller _poller;
    private ulong _id;
    private int _readSeen;
    private bool _readDrained;
    private int _writeSeen;
    private bool _writeFull;
    private int _disposed;

    /// <summary>
    /// Takes <paramref name="socket"/> over: switches it to non-blocking and registers it, a connected one now, a new
    /// one once <see cref="ConnectAsync"/> started its connection (an unconnected TCP socket polls as hung up).
    /// </summary>
    public PolledSocket(Socket socket)
        : this(socket, register: socket.Connected)
    {
    }

    private PolledSocket(Socket socket, bool register)
    {
        Socket = socket;
        if (socket.Blocking)
        {
            // Only the kernel's flag: the runtime may go on thinking the socket blocks, nothing here asks it to wait.
            LinuxNative.SetNonBlocking(socket.SafeHandle);
        }
        _poller = SocketPoller.Shared;
        if (register)
        {
            _id = _poller.Add(this);
        }
    }

    /// <summary>Takes a listening socket over, for <see cref="AcceptAsync"/>.</summary>
    public static PolledSocket Listening(Socket listener)
    {
        // Non-blocking as the runtime sees it too: its Accept must fail on an empty queue, never wait in its engine.
        listener.Blocking = false;
        return new(listener, register: true);
    }

    public Socket Socket { get; }

    /// <summary>Readable events seen so far, for a reader that receives by other means (OpenSSL's socket BIO).</summary>
    public int ReadEvents => _readable.Events;

    /// <summary>
    /// Connects to <paramref name="target"/>. Throws <see cref="SocketException"/> when refused or unreachable, and
    /// <see cref="OperationCanceledException"/> when cancelled or when <paramref name="timeout"/> (if any) passes first.
    /// <paramref name="targetIsLocal"/>: the target is an address of the socket's own network namespace.
    /// </summary>
    /// <remarks>
    /// To a local address the kernel runs the whole handshake inside connect(2): the SYN and the listener's SYN-ACK
    /// travel over lo in the call's softirq. A non-blocking connect still says EINPROGRESS, because the SYN-ACK waits
    /// in the socket's backlog until the call releases the socket, and is processed then. So for a local target a
    /// second connect(2) follows at once and finds the connection made, instead of a wait for the poller's writable
    /// event: a wake-up and a hop through the readiness signal saved per connection to the app. The
    /// timeout's timer is set only for a connection that has to be waited for.
    /// </remarks>
    public async Task ConnectAsync(IPEndPoint target, CancellationToken cancellationToken, bool targetIsLocal = false, TimeSpan? timeout = null)
    {
        if (_id != 0)
        {
            throw new InvalidOperationException("the socket is connected already");
        }
        CancellationTokenSource? timer = null;
        try
        {
            while (true)
            {
                int seen = _writable.Events;
                bool connected = LinuxNative.ConnectNoWait(Socket.SafeHandle, target);
                if (_id == 0)
                {
                    _id = _poller.Add(this); // the handshake is under way (or done): from here on events are real
                    if (!connected && targetIsLocal)
                    {
                        connected = LinuxNative.ConnectNoWait(Socket.SafeHandle, target);
                    }
                }
                if (connected)
                {
                    return;
                }
                if (timeout is { } limit && timer is null)
                {
                    timer = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                    timer.CancelAfter(limit);
                }
                // Writable means the handshake ended, one way or the other; the next connect(2) says which.
                await _writable.WaitAsync(seen, timer?.Token ?? cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            timer?.Dispose();
        }
    }

    /// <summary>
    /// Accepts the next connection, waiting for one as long as it takes. The accepted socket is non-blocking, like
    /// the listener: made for a <see cref="PolledSocket"/> of its own. Throws <see cref="SocketException"/>
    /// (OperationAborted once this listener is disposed) or <see cref="OperationCanceledException"/>.
    /// </summary>
    /// <remarks>
    /// Socket.Accept on a non-blocking listener is one accept4(2) and builds the accepted Socket from what it
    /// returned, but an empty queue is an exception. So it is called only when a connection is known to wait: after
    /// a readiness event that came since the last look, or when poll(2) says so. One accept and one poll per
    /// connection, the same two syscalls the runtime's engine spends (its accept that finds the queue empty), and
    /// the accepted connection's first data is seen by the same thread, where the engine woke a second one.
    /// </remarks>
    public async ValueTask<Socket> AcceptAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            int seen = _readable.Events;
            if (seen != _readSeen || Socket.Poll(0, SelectMode.SelectRead))
            {
                _readSeen = seen;
                try
                {
                    return Socket.Accept();
                }
                catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
                {
                    // The event was for a connection accepted already (or one the client gave up): look again.
                    continue;
                }
            }
            await _readable.WaitAsync(seen, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Work the poller's thread does at a readable event while a reader waits (<see cref="ReadinessSignal.Handler"/>).</summary>
    public IReadinessHandler? ReadableHandler
    {
        get => _readable.Handler;
        set => _readable.Handler = value;
    }

    /// <summary>One receive that never waits: bytes received, 0 at end of stream, -1 when there is nothing now.</summary>
    public int Receive(Span<byte> buffer)
    {
        int seen = _readable.Events;
        int received = LinuxNative.ReceiveNoWait(Socket.SafeHandle, buffer);
        NoteReceive(seen, drained: received < buffer.Length);
        return received;
    }

    /// <summary>
    /// Records an attempt to receive made by other means: <paramref name="seen"/> is <see cref="ReadEvents"/> read
    /// before it, <paramref name="drained"/> whether it found the socket empty (or took less than it asked for).
    /// </summary>
    public void NoteReceive(int seen, bool drained)
    {
        _readSeen = seen;
        _readDrained = drained;
    }

    /// <summary>False when the last receive drained the socket and the poller has seen nothing since: a receive now finds nothing.</summary>
    public bool ReadMayFindData => !_readDrained || _readable.Events != _readSeen;

    /// <summary>Completes when a receive may find data: at once unless the last one drained the socket and nothing came since.</summary>
    public ValueTask WaitReadableAsync(CancellationToken cancellationToken = default) =>
        _readDrained ? _readable.WaitAsync(_readSeen, cancellationToken) : CompletedUnlessDisposed();

    /// <summary>One send that never waits: bytes the kernel took (maybe fewer), -1 when the socket buffer is full.</summary>
    public int Send(ReadOnlySpan<byte> data)
    {
        int seen = _writable.Events;
        int sent = LinuxNative.Send(Socket.SafeHandle, data);
        NoteSend(seen, full: sent < data.Length);
        return sent;
    }

    /// <summary><see cref="Send(ReadOnlySpan{byte})"/> for a chunk in several buffers (one sendmsg).</summary>
    public int Send(in ReadOnlySequence<byte> data)
    {
        int seen = _writable.Events;
        int sent = LinuxNative.Send(Socket.SafeHandle, data);
        NoteSend(seen, full: sent < data.Length);
        return sent;
    }

    /// <summary>Completes when a send may take bytes: at once unless the last one found the buffer full and nothing changed since.</summary>
    public ValueTask WaitWritableAsync(CancellationToken cancellationToken = default) =>
        _writeFull ? _writable.WaitAsync(_writeSeen, cancellationToken) : CompletedUnlessDisposed();

    /// <summary>Sends all of <paramref name="data"/>, waiting for room as often as needed.</summary>
    public async ValueTask SendAllAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            int sent = Send(data.Span);
            if (sent > 0)
            {
                data = data[sent..];
            }
            else
            {
                await WaitWritableAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private void NoteSend(int seen, bool full)
    {
        _writeSeen = seen;
        _writeFull = full;
    }

    private ValueTask CompletedUnlessDisposed() =>
        Volatile.Read(ref _disposed) == 0 ? ValueTask.CompletedTask : ValueTask.FromException(Aborted());

    internal void OnEvents(uint events, bool inline)
    {
        const uint Broken = LinuxNative.EPOLLHUP | LinuxNative.EPOLLERR;
        if ((events & (LinuxNative.EPOLLIN | LinuxNative.EPOLLRDHUP | Broken)) != 0)
        {
            _readable.Signal(final: (events & (LinuxNative.EPOLLRDHUP | Broken)) != 0, inline);
        }
        if ((events & (LinuxNative.EPOLLOUT | Broken)) != 0)
        {
            _writable.Signal(final: (events & Broken) != 0, inline);
        }
    }

    /// <summary>Closes the socket; a pending or later wait fails as a closed socket's operation does (OperationAborted).</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        if (_id != 0)
        {
            _poller.Remove(_id);
        }
        Socket.Dispose();
        _readable.Fail(Aborted());
        _writable.Fail(Aborted());
    }

    private static SocketException Aborted() => new((int)SocketError.OperationAborted);
}
