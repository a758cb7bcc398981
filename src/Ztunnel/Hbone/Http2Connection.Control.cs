using System.Buffers;

namespace Ztunnel.Hbone;

// Connection-level control frames (RFC 9113 §6.5 SETTINGS, §6.7 PING, §6.8 GOAWAY). Every reply goes to
// the output queue; a peer that makes us queue replies without reading them is cut off (ThrowIfControlFloodLocked).
public abstract partial class Http2Connection
{
    private void OnSettings(in Http2FrameHeader header, in ReadOnlySequence<byte> payload)
    {
        if (header.HasFlag(Http2Flags.Ack))
        {
            return;
        }
        lock (_sync)
        {
            int count = header.PayloadLength / 6;
            for (int i = 0; i < count; i++)
            {
                Http2Setting setting = Http2FrameReader.ReadSetting(payload, i);
                Http2FrameReader.ValidateSetting(setting, fromServer: IsClient);
                switch (setting.Id)
                {
                    case Http2SettingId.MaxConcurrentStreams:
                        _peerMaxConcurrentStreams = (int)Math.Min(setting.Value, int.MaxValue);
                        break;
                    case Http2SettingId.InitialWindowSize:
                        ApplyInitialWindowSizeLocked((int)setting.Value);
                        break;
                    case Http2SettingId.MaxFrameSize:
                        _peerMaxFrameSize = (int)setting.Value;
                        break;
                    default:
                        // HEADER_TABLE_SIZE: our encoder never indexes. MAX_HEADER_LIST_SIZE: advisory.
                        // ENABLE_PUSH: we never push. Unknown: ignored (§6.5.2).
                        break;
                }
            }
            ThrowIfControlFloodLocked();
            Http2FrameWriter.WriteSettingsAck(_output);
            FlushOutputLocked();
        }
        _peerSettingsSeen = true;
        _peerSettingsReceived.TrySetResult();
    }

    private void OnPing(in Http2FrameHeader header, ulong opaque)
    {
        lock (_sync)
        {
            if (header.HasFlag(Http2Flags.Ack))
            {
                OnPingAckLocked(opaque);
                return;
            }
            ThrowIfControlFloodLocked();
            Http2FrameWriter.WritePing(_output, opaque, ack: true);
            FlushOutputLocked();
        }
    }

    /// <summary>GOAWAY (RFC 9113 §6.8): the peer takes no new streams; the open ones finish, then the connection closes.</summary>
    private void OnGoAway(int lastStreamId, Http2ErrorCode code)
    {
        Http2Log.GoAwayReceived(_logger, lastStreamId, code);
        lock (_sync)
        {
            _goAwayReceived = true;
            OnGoAwayLocked(lastStreamId, code);
            CloseIfDrainedLocked();
        }
    }

    /// <summary>The role's part of a received GOAWAY (the client fails streams the peer never processed).</summary>
    private protected virtual void OnGoAwayLocked(int lastStreamId, Http2ErrorCode code)
    {
    }
}
