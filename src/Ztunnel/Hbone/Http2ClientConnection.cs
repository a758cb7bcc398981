using System.IO.Pipelines;
using Microsoft.Extensions.Logging;
using Ztunnel.Hbone.Hpack;

namespace Ztunnel.Hbone;

/// <summary>
/// The client side of one HTTP/2 connection carrying HBONE CONNECT tunnels (DESIGN §4), over a transport
/// that is already authenticated (mTLS, ALPN h2).
/// <para>
/// Threads: one read loop task parses frames and never waits on a consumer (received DATA is copied into
/// the stream's own buffer); one write loop task moves the output pipe to the transport. Every other
/// party (application reads/writes, the keepalive timer) touches connection state under <see cref="_sync"/>
/// and only for short, non-blocking sections: no lock is held across an await.
/// </para>
/// </summary>
public sealed partial class Http2ClientConnection : IAsyncDisposable
{
    /// <summary>Streams we open are odd (RFC 9113 §5.1.1); ids are never reused.</summary>
    private const int MaxStreamId = int.MaxValue;

    // Protects all mutable connection state, every stream's flow-control/state fields, the stream table
    // and every write into _output. Held only for bounded, synchronous work (at most one frame copy).
    private readonly Lock _sync = new();
    private readonly Stream _transport;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly PipeReader _input;
    private readonly Dictionary<int, Http2ClientStream> _streams = [];
    private readonly HpackDecoder _hpack = new(4096, HboneDefaults.MaxHeaderListSize);
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _peerSettingsReceived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _readLoop = Task.CompletedTask;
    private ITimer? _pingTimer;

    private int _nextStreamId = 1;
    private int _reservedStreams;
    private long _lastActiveTimestamp;

    // Peer settings (RFC 9113 §6.5.2 defaults until its SETTINGS arrive).
    private int _peerMaxConcurrentStreams = int.MaxValue;
    private int _peerMaxFrameSize = Http2FrameHeader.DefaultMaxFrameSize;
    private int _peerInitialWindowSize = 65535;

    private bool _goAwayReceived;
    private int _peerLastStreamId = int.MaxValue;
    private bool _goAwaySent;
    private bool _shuttingDown;
    private bool _closed;
    private Exception? _closeReason;
    private int _transportDisposed;

    private Http2ClientConnection(Stream transport, TimeProvider time, ILogger logger)
    {
        _transport = transport;
        _time = time;
        _logger = logger;
        _input = PipeReader.Create(transport, new StreamPipeReaderOptions(bufferSize: 64 * 1024, minimumReadSize: 16 * 1024, leaveOpen: true));
        _outputPipe = new Pipe(new PipeOptions(pauseWriterThreshold: 0, resumeWriterThreshold: 0, useSynchronizationContext: false));
        _output = _outputPipe.Writer;
        _lastActiveTimestamp = time.GetTimestamp();
    }

    /// <summary>
    /// Sends the connection preface and our SETTINGS over <paramref name="transport"/>, starts the read and
    /// write loops and returns once the server's SETTINGS have arrived (so its limits are known).
    /// The connection owns <paramref name="transport"/> from here on.
    /// </summary>
    public static async Task<Http2ClientConnection> StartAsync(Stream transport, TimeProvider time, ILogger logger, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(logger);
        var connection = new Http2ClientConnection(transport, time, logger);
        connection.Start();
        try
        {
            await connection._peerSettingsReceived.Task.WaitAsync(ct).ConfigureAwait(false);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return connection;
    }

    /// <summary>True when a new CONNECT may be opened here now.</summary>
    public bool CanOpenStream
    {
        get
        {
            lock (_sync)
            {
                return CanOpenStreamLocked();
            }
        }
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

    /// <summary>How long the connection has had no stream (zero while it has one); the pool's idle clock.</summary>
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
    /// Graceful close: GOAWAY(NO_ERROR), no new streams, in-flight streams run to completion, then the
    /// connection closes. Cancelling <paramref name="ct"/> closes at once.
    /// </summary>
    public async Task ShutdownAsync(CancellationToken ct)
    {
        lock (_sync)
        {
            if (!_closed && !_shuttingDown)
            {
                _shuttingDown = true;
                WriteGoAwayLocked(Http2ErrorCode.NoError, "shutting down"u8);
                FlushOutputLocked();
                CloseIfDrainedLocked();
            }
        }
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

    public async ValueTask DisposeAsync()
    {
        Abort(new ObjectDisposedException(nameof(Http2ClientConnection), "the HTTP/2 connection was disposed"), Http2ErrorCode.NoError);
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
    }

    private void Start()
    {
        lock (_sync)
        {
            WritePrefaceLocked();
            FlushOutputLocked();
        }
        _writeLoop = Task.Run(WriteLoopAsync);
        _readLoop = Task.Run(ReadLoopAsync);
        _pingTimer = _time.CreateTimer(static state => ((Http2ClientConnection)state!).OnPingTimer(), this, HboneDefaults.PingInterval, HboneDefaults.PingInterval);
        _ = MonitorAsync();
    }

    private async Task MonitorAsync()
    {
        await _writeLoop.ConfigureAwait(false);
        // The write loop ends only after the connection closed and its last frames are out.
        await DisposeTransportAsync().ConfigureAwait(false);
        await _readLoop.ConfigureAwait(false);
        if (_pingTimer is { } timer)
        {
            await timer.DisposeAsync().ConfigureAwait(false);
        }
        Http2Log.ConnectionClosed(_logger, CloseReason?.Message ?? "closed");
        _completion.TrySetResult();
    }

    private bool CanOpenStreamLocked() =>
        !_closed && !_goAwayReceived && !_shuttingDown && _nextStreamId < MaxStreamId
        && _streams.Count + _reservedStreams < Math.Min(_peerMaxConcurrentStreams, HboneDefaults.MaxStreamsPerConnection);

    private string WhyCannotOpenLocked() =>
        _closed ? $"the connection is closed ({_closeReason?.Message})"
        : _goAwayReceived ? "the peer sent GOAWAY"
        : _shuttingDown ? "the connection is shutting down"
        : _nextStreamId >= MaxStreamId ? "stream ids are exhausted"
        : $"it already has {_streams.Count + _reservedStreams} streams (limit {Math.Min(_peerMaxConcurrentStreams, HboneDefaults.MaxStreamsPerConnection)})";

    /// <summary>Holds a stream slot for a caller (the pool) that will open a stream shortly.</summary>
    internal bool TryReserveStream()
    {
        lock (_sync)
        {
            if (!CanOpenStreamLocked())
            {
                return false;
            }
            _reservedStreams++;
            return true;
        }
    }

    internal void ReleaseReservation()
    {
        lock (_sync)
        {
            _reservedStreams--;
            _lastActiveTimestamp = _time.GetTimestamp();
            CloseIfDrainedLocked();
        }
    }

    /// <summary>A stream fully closed: forget it; after GOAWAY (either way) the last one closes the connection.</summary>
    private void RemoveStreamLocked(Http2ClientStream stream)
    {
        if (_streams.Remove(stream.Id))
        {
            _lastActiveTimestamp = _time.GetTimestamp();
            CloseIfDrainedLocked();
        }
    }

    private void CloseIfDrainedLocked()
    {
        if (!_closed && (_goAwayReceived || _shuttingDown) && _streams.Count == 0 && _reservedStreams == 0)
        {
            AbortLocked(new IOException("HTTP/2 connection closed after GOAWAY"), Http2ErrorCode.NoError);
        }
    }

    /// <summary>Closes the connection: GOAWAY with <paramref name="goAwayCode"/> if given, every stream fails.</summary>
    private void Abort(Exception reason, Http2ErrorCode? goAwayCode)
    {
        lock (_sync)
        {
            AbortLocked(reason, goAwayCode);
        }
    }

    private void AbortLocked(Exception reason, Http2ErrorCode? goAwayCode)
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
            await _writeLoop.WaitAsync(TimeSpan.FromSeconds(2), _time).ConfigureAwait(false);
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
