using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using Ztunnel.Hbone.Hpack;

namespace Ztunnel.Hbone;

/// <summary>
/// One HTTP/2 connection carrying HBONE CONNECT tunnels (DESIGN §4), over a transport that is already
/// authenticated (mTLS, ALPN h2). The role-agnostic core: framing, flow control, DATA delivery, SETTINGS,
/// PING, GOAWAY, keepalive and stream teardown. <see cref="Http2ClientConnection"/> opens streams,
/// <see cref="Server.Http2ServerConnection"/> accepts them.
/// <para>
/// Threads: one read loop task parses frames and never waits on a consumer (received DATA is copied into
/// the stream's own buffer); one write loop task moves the output pipe to the transport. Every other
/// party (application reads/writes, the keepalive timer) touches connection state under <see cref="_sync"/>
/// and only for short, non-blocking sections: no lock is held across an await.
/// </para>
/// </summary>
public abstract partial class Http2Connection : IAsyncDisposable
{
    /// <summary>Stream ids are 31 bits and never reused (RFC 9113 §5.1.1).</summary>
    private protected const int MaxStreamId = int.MaxValue;

    // Protects all mutable connection state, every stream's flow-control/state fields, the stream table
    // and every write into _output. Held only for bounded, synchronous work (at most one frame copy).
    private protected readonly Lock _sync = new();
    private protected readonly Stream _transport;
    private protected readonly TimeProvider _time;
    private protected readonly ILogger _logger;
    private readonly Http2InputBuffer _input;

    /// <summary>Pool blocks the read loop holds (tests: only while the loop waits for the transport).</summary>
    internal int InputBlocksHeld => _input.BlocksHeld;

    private protected readonly Dictionary<int, Http2Stream> _streams = [];
    private protected readonly HpackDecoder _hpack = new(4096, HboneDefaults.MaxHeaderListSize);
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private protected readonly TaskCompletionSource _peerSettingsReceived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _readLoop = Task.CompletedTask;
    private ITimer? _pingTimer;

    private protected int _reservedStreams;
    private protected long _lastActiveTimestamp;

    // Peer settings (RFC 9113 §6.5.2 defaults until its SETTINGS arrive).
    private protected int _peerMaxConcurrentStreams = int.MaxValue;
    private protected int _peerMaxFrameSize = Http2FrameHeader.DefaultMaxFrameSize;
    private protected int _peerInitialWindowSize = 65535;

    private protected bool _goAwayReceived;
    private protected bool _goAwaySent;
    private protected bool _shuttingDown;
    // Written under _sync; the read loop also reads it without the lock to skip frames after close.
    private protected volatile bool _closed;
    private protected Exception? _closeReason;
    private int _transportDisposed;

    private protected Http2Connection(Stream transport, TimeProvider time, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        _transport = transport;
        _time = time;
        _logger = logger;
        _input = new Http2InputBuffer(Http2BufferPool.Shared);
        _outputPipe = new Pipe(new PipeOptions(
            pool: Http2BufferPool.Shared, pauseWriterThreshold: 0, resumeWriterThreshold: 0, minimumSegmentSize: Http2BufferPool.BlockSize, useSynchronizationContext: false));
        _output = _outputPipe.Writer;
        _lastActiveTimestamp = time.GetTimestamp();
    }

    /// <summary>Streams open or half-closed (they count against MAX_CONCURRENT_STREAMS).</summary>
    public int ActiveStreams
    {
        get
        {
            lock (_sync)
            {
                return _streams.Count;
            }
        }
    }

    /// <summary>Completes when the connection is closed, for any reason. Never faults.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Why the connection closed, once it has.</summary>
    internal Exception? CloseReason
    {
        get
        {
            lock (_sync)
            {
                return _closeReason;
            }
        }
    }

    /// <summary>How long the connection has had no stream (zero while it has one): the idle clock.</summary>
    internal TimeSpan IdleTime
    {
        get
        {
            lock (_sync)
            {
                return _streams.Count + _reservedStreams > 0 ? TimeSpan.Zero : _time.GetElapsedTime(_lastActiveTimestamp);
            }
        }
    }

    /// <summary>
    /// Graceful close: GOAWAY(NO_ERROR) carrying the last stream we will process, no new streams, in-flight
    /// streams run to completion, then the connection closes. Cancelling <paramref name="ct"/> closes at once.
    /// </summary>
    public async Task ShutdownAsync(CancellationToken ct)
    {
        BeginShutdown();
        try
        {
            await Completion.WaitAsync(ct).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            Abort(new IOException("HTTP/2 connection shutdown was cancelled with streams still open"), Http2ErrorCode.Cancel);
            throw;
        }
    }

    /// <summary>The first half of <see cref="ShutdownAsync"/>: GOAWAY now, close once drained.</summary>
    internal void BeginShutdown()
    {
        lock (_sync)
        {
            BeginShutdownLocked("shutting down"u8);
        }
    }

    private protected void BeginShutdownLocked(ReadOnlySpan<byte> why)
    {
        if (!_closed && !_shuttingDown)
        {
            _shuttingDown = true;
            WriteShutdownGoAwayLocked(why);
            FlushOutputLocked();
            CloseIfDrainedLocked();
        }
    }

    /// <summary>The graceful GOAWAY (RFC 9113 §6.8); the server overrides it with its two-step drain.</summary>
    private protected virtual void WriteShutdownGoAwayLocked(ReadOnlySpan<byte> why) => WriteGoAwayLocked(Http2ErrorCode.NoError, why);

    /// <summary>True while a graceful shutdown still waits for streams the peer may have in flight.</summary>
    private protected virtual bool ShutdownPendingLocked => false;

    public async ValueTask DisposeAsync()
    {
        Abort(new ObjectDisposedException(GetType().Name, "the HTTP/2 connection was disposed"), Http2ErrorCode.NoError);
        try
        {
            // Give the write loop a moment to put the GOAWAY on the wire; a peer that does not read
            // must not hold up dispose (hang guard, not protocol timing).
            await _writeLoop.WaitAsync(TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        await DisposeTransportAsync().ConfigureAwait(false);
        await Completion.ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>Queues the role's opening frames, then starts the read and write loops and the keepalive timer.</summary>
    private protected void Start()
    {
        lock (_sync)
        {
            WriteInitialFramesLocked();
            FlushOutputLocked();
        }
        _writeLoop = Task.Run(WriteLoopAsync);
        StartImmediateReads();
        _readLoop = Task.Run(ReadLoopAsync);
        _pingTimer = _time.CreateTimer(static state => ((Http2Connection)state!).OnPingTimer(), this, HboneDefaults.PingInterval, HboneDefaults.PingInterval);
        _ = MonitorAsync();
    }

    /// <summary>The role's first frames: the client preface or the server's SETTINGS (RFC 9113 §3.4).</summary>
    private protected abstract void WriteInitialFramesLocked();

    private async Task MonitorAsync()
    {
        await _writeLoop.ConfigureAwait(false);
        // The write loop ends only after the connection closed and its last frames are out.
        await CloseTransportAsync(_readLoop).ConfigureAwait(false);
        await DisposeTransportAsync().ConfigureAwait(false);
        await _readLoop.ConfigureAwait(false);
        if (_pingTimer is { } timer)
        {
            await timer.DisposeAsync().ConfigureAwait(false);
        }
        OnClosed();
        Http2Log.ConnectionClosed(_logger, CloseReason?.Message ?? "closed");
        _completion.TrySetResult();
    }

    /// <summary>
    /// After our last frames are written and before the transport is disposed. The server half-closes and
    /// lingers here (<paramref name="readLoop"/> drains the socket until the client closes).
    /// </summary>
    private protected virtual Task CloseTransportAsync(Task readLoop) => Task.CompletedTask;

    /// <summary>Once the connection is fully closed (timers, role state).</summary>
    private protected virtual void OnClosed()
    {
    }

    /// <summary>A stream fully closed: forget it; after GOAWAY (either way) the last one closes the connection.</summary>
    private protected void RemoveStreamLocked(Http2Stream stream)
    {
        if (_streams.Remove(stream.Id))
        {
            _lastActiveTimestamp = _time.GetTimestamp();
            CloseIfDrainedLocked();
        }
    }

    private protected void CloseIfDrainedLocked()
    {
        if (!_closed && (_goAwayReceived || (_shuttingDown && !ShutdownPendingLocked)) && _streams.Count == 0 && _reservedStreams == 0)
        {
            AbortLocked(new IOException("HTTP/2 connection closed after GOAWAY"), Http2ErrorCode.NoError);
        }
    }

    /// <summary>Closes the connection: GOAWAY with <paramref name="goAwayCode"/> if given, every stream fails.</summary>
    internal void Abort(Exception reason, Http2ErrorCode? goAwayCode)
    {
        lock (_sync)
        {
            AbortLocked(reason, goAwayCode);
        }
    }

    private protected void AbortLocked(Exception reason, Http2ErrorCode? goAwayCode)
    {
        if (_closed)
        {
            return;
        }
        if (goAwayCode is { } code && (!_goAwaySent || code != Http2ErrorCode.NoError))
        {
            Span<byte> debug = stackalloc byte[128];
            int n = System.Text.Encoding.ASCII.GetBytes(reason.Message.AsSpan(0, Math.Min(reason.Message.Length, debug.Length)), debug);
            WriteGoAwayLocked(code, debug[..n]);
            FlushOutputLocked();
        }
        _closed = true;
        _closeReason = reason;
        var error = reason as IOException ?? new IOException($"HTTP/2 connection closed: {reason.Message}", reason);
        foreach (var stream in _streams.Values)
        {
            stream.FailLocked(error);
        }
        _streams.Clear();
        _output.Complete();
        EnsureWriterLocked(); // an idle write loop wakes to write the last frames and end
        WakeAllWritersLocked();
        _peerSettingsReceived.TrySetException(error);
        // With a GOAWAY to deliver, the write loop closes the transport once it is out (bounded by a grace
        // period); with a broken transport nothing more can be sent, so close it now to wake both loops.
        _ = goAwayCode is null ? Task.Run(DisposeTransportAsync) : DisposeTransportAfterGraceAsync();
    }

    private async Task DisposeTransportAfterGraceAsync()
    {
        try
        {
            // The write loop's end, plus the server's lingering close (bounded by its own deadline).
            await Completion.WaitAsync(TimeSpan.FromSeconds(4), _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
        await DisposeTransportAsync().ConfigureAwait(false);
    }

    private async Task DisposeTransportAsync()
    {
        if (Interlocked.Exchange(ref _transportDisposed, 1) == 0)
        {
            try
            {
                await _transport.DisposeAsync().ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
            {
            }
        }
    }
}
