using System.Buffers;
using Microsoft.Extensions.Logging;

namespace Ztunnel.Hbone;

/// <summary>
/// The client side of one HTTP/2 connection carrying HBONE CONNECT tunnels (DESIGN §4): sends the
/// connection preface, opens odd-numbered streams (RFC 9113 §5.1.1) and applies their response headers.
/// Framing, flow control and teardown live in <see cref="Http2Connection"/>.
/// </summary>
public sealed partial class Http2ClientConnection : Http2Connection
{
    private int _nextStreamId = 1;
    private int _peerLastStreamId = int.MaxValue;

    private Http2ClientConnection(Stream transport, TimeProvider time, ILogger logger)
        : base(transport, time, logger)
    {
    }

    /// <summary>
    /// Sends the connection preface and our SETTINGS over <paramref name="transport"/>, starts the read and
    /// write loops and returns once the server's SETTINGS have arrived (so its limits are known).
    /// The connection owns <paramref name="transport"/> from here on.
    /// </summary>
    public static async Task<Http2ClientConnection> StartAsync(Stream transport, TimeProvider time, ILogger logger, CancellationToken ct)
    {
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

    private protected override bool IsClient => true;

    // We never accept peer-initiated streams (push is off), so the last processed stream id is 0.
    private protected override int GoAwayLastStreamIdLocked => 0;

    private protected override void WriteInitialFramesLocked()
    {
        _output.Write(Http2FrameWriter.ClientPreface);
        ReadOnlySpan<Http2Setting> settings =
        [
            new(Http2SettingId.EnablePush, 0),
            new(Http2SettingId.InitialWindowSize, HboneDefaults.StreamWindow),
            new(Http2SettingId.MaxFrameSize, HboneDefaults.MaxFrameSize),
            new(Http2SettingId.MaxHeaderListSize, HboneDefaults.MaxHeaderListSize),
        ];
        WriteSettingsAndConnectionWindowLocked(settings);
    }

    /// <summary>Streams are idle until we open them; the peer cannot open any (push is off). Frames on an idle stream are PROTOCOL_ERROR (§5.1).</summary>
    private protected override void ThrowIfIdleStream(int streamId, Http2FrameType type)
    {
        if ((streamId & 1) == 0 || streamId >= _nextStreamId)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"{type} frame on stream {streamId}, which we never opened");
        }
    }

    /// <summary>
    /// GOAWAY (RFC 9113 §6.8): streams above last-stream-id were never processed and fail as retryable;
    /// the others finish, and the connection closes after the last one.
    /// </summary>
    private protected override void OnGoAwayLocked(int lastStreamId, Http2ErrorCode code)
    {
        _peerLastStreamId = Math.Min(_peerLastStreamId, lastStreamId);
        List<Http2Stream>? refused = null;
        foreach (var stream in _streams.Values)
        {
            if (stream.Id > _peerLastStreamId)
            {
                (refused ??= []).Add(stream);
            }
        }
        if (refused is null)
        {
            return;
        }
        foreach (var stream in refused)
        {
            stream.FailLocked(new Http2StreamRefusedException(
                $"HBONE CONNECT to {stream.Authority} was not processed: the peer sent GOAWAY ({code}) with last stream {lastStreamId}; it is safe to retry"));
            ReturnUnreadCreditLocked(stream);
            RemoveStreamLocked(stream);
        }
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
}
