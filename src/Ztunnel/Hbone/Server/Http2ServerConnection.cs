using System.Buffers;
using Ztunnel.Tls.Native;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Ztunnel.Hbone.Server;

/// <summary>
/// The server side of one HTTP/2 connection carrying HBONE CONNECT tunnels (DESIGN §4): reads the client
/// preface, accepts client-opened streams (odd, increasing ids, RFC 9113 §5.1.1), validates each CONNECT
/// and hands it to <see cref="HboneConnectHandler"/>. Framing, flow control and teardown live in
/// <see cref="Http2Connection"/>.
/// </summary>
internal sealed partial class Http2ServerConnection : Http2Connection
{
    /// <summary>
    /// Clients close once they saw our GOAWAY and their last stream ended, so this bounds only clients that
    /// don't; a second is what Go's HTTP/2 server waits after its final GOAWAY.
    /// </summary>
    internal static readonly TimeSpan MaxLinger = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A connection without streams for this long is closed (GOAWAY). Clients release idle connections
    /// after <see cref="HboneDefaults.PoolIdleTimeout"/>; this only bounds ones a client forgot.
    /// </summary>
    internal static readonly TimeSpan IdleTimeout = 2 * HboneDefaults.PoolIdleTimeout;

    private readonly Socket? _socket;
    private readonly HboneConnectionInfo _info;
    private readonly HboneConnectHandler _handler;
    private readonly TimeSpan _prefaceTimeout;
    private ITimer? _prefaceTimer;
    private bool _prefaceDone;

    private Http2ServerConnection(Stream transport, Socket? socket, HboneConnectionInfo info, HboneConnectHandler handler, TimeSpan prefaceTimeout, TimeProvider time, ILogger logger)
        : base(transport, time, logger)
    {
        _socket = socket;
        _info = info;
        _handler = handler;
        _prefaceTimeout = prefaceTimeout;
        _resetBudget = ResetBudgetCapacity;
        _resetBudgetTimestamp = time.GetTimestamp();
    }

    /// <summary>
    /// Serves HTTP/2 on <paramref name="transport"/> (TLS done, or plaintext for tests): sends our SETTINGS
    /// and starts the loops. <paramref name="socket"/>, when given, is half-closed and drained at the end
    /// (a lingering close). The client must send its preface and SETTINGS within <paramref name="prefaceTimeout"/>.
    /// The connection owns both from here on.
    /// </summary>
    public static Http2ServerConnection Start(Stream transport, Socket? socket, HboneConnectionInfo info, HboneConnectHandler handler,
        TimeSpan prefaceTimeout, TimeProvider time, ILogger logger)
    {
        var connection = new Http2ServerConnection(transport, socket, info, handler, prefaceTimeout, time, logger);
        connection.Start();
        return connection;
    }

    public HboneConnectionInfo Info => _info;

    private protected override bool IsClient => false;

    private protected override int GoAwayLastStreamIdLocked => _lastClientStreamId;

    private protected override void WriteInitialFramesLocked()
    {
        // RFC 9113 §3.4: the server preface is a SETTINGS frame. A server does not send ENABLE_PUSH (§6.5.2),
        // nor SETTINGS_ENABLE_CONNECT_PROTOCOL: extended CONNECT (RFC 8441) is not HBONE.
        ReadOnlySpan<Http2Setting> settings =
        [
            new(Http2SettingId.MaxConcurrentStreams, HboneDefaults.MaxStreamsPerConnection),
            new(Http2SettingId.InitialWindowSize, HboneDefaults.StreamWindow),
            new(Http2SettingId.MaxFrameSize, HboneDefaults.MaxFrameSize),
            new(Http2SettingId.MaxHeaderListSize, HboneDefaults.MaxHeaderListSize),
        ];
        WriteSettingsAndConnectionWindowLocked(settings);
        _prefaceTimer = _time.CreateTimer(static state => ((Http2ServerConnection)state!).OnPrefaceTimeout(), this, _prefaceTimeout, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The client connection preface (RFC 9113 §3.4) comes before its first frame; garbage is refused as soon as it differs.</summary>
    private protected override bool TryConsumePreface(ref ReadOnlySequence<byte> buffer)
    {
        if (_prefaceDone)
        {
            return true;
        }
        ReadOnlySpan<byte> preface = Http2FrameWriter.ClientPreface;
        int have = (int)Math.Min(buffer.Length, preface.Length);
        Span<byte> received = stackalloc byte[preface.Length];
        buffer.Slice(0, have).CopyTo(received);
        if (!received[..have].SequenceEqual(preface[..have]))
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError,
                "the connection does not start with the HTTP/2 client preface (RFC 9113 §3.4); is the client speaking HTTP/2 with prior knowledge?");
        }
        if (have < preface.Length)
        {
            return false;
        }
        buffer = buffer.Slice(preface.Length);
        _prefaceDone = true;
        return true;
    }

    private void OnPrefaceTimeout()
    {
        if (!_peerSettingsSeen)
        {
            Abort(new IOException($"HTTP/2 client sent no preface and SETTINGS within {_prefaceTimeout.TotalSeconds:0} s"), Http2ErrorCode.ProtocolError);
        }
    }

    /// <summary>Streams the client never opened are idle; frames other than HEADERS on them are PROTOCOL_ERROR (§5.1). Even ids would be ours: we never push.</summary>
    private protected override void ThrowIfIdleStream(int streamId, Http2FrameType type)
    {
        if ((streamId & 1) == 0 || streamId > _lastClientStreamId)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"{type} frame on stream {streamId}, which the client never opened");
        }
    }

    /// <summary>Closes a connection that has had no stream for <see cref="IdleTimeout"/>: GOAWAY, then close.</summary>
    private protected override void OnKeepaliveTickLocked(long now)
    {
        if (_streams.Count == 0 && _time.GetElapsedTime(_lastActiveTimestamp, now) >= IdleTimeout)
        {
            BeginShutdownLocked("idle"u8);
        }
    }

    /// <summary>
    /// A lingering close (RFC 9112 §9.6 applies to HTTP/2's TCP as well): after our last frames, send
    /// close_notify and FIN, then keep reading (and discarding) until the client closes or
    /// <see cref="MaxLinger"/> passed. Closing at once would let a WINDOW_UPDATE still in flight from a
    /// client reading our last DATA make the kernel answer RST and drop what is still in our send queue.
    /// </summary>
    private protected override async Task CloseTransportAsync(Task readLoop)
    {
        if (_socket is null)
        {
            return;
        }
        try
        {
            if (_transport is NativeTlsStream tls)
            {
                await tls.ShutdownAsync().ConfigureAwait(false); // close_notify, sent at once
            }
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException or NotSupportedException)
        {
            return; // the connection is broken already: nothing to linger for
        }
        try
        {
            // The read loop reads and discards until the client closes (also after a connection error).
            await readLoop.WaitAsync(MaxLinger, _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }
    }

    private protected override void OnClosed() => _prefaceTimer?.Dispose();
}
