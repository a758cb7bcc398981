using System.Buffers;
using System.Buffers.Binary;

namespace Ztunnel.Hbone;

/// <summary>
/// Cuts frames out of the connection's input and parses the fixed parts of their payloads. Every check
/// here is one the RFC states for the frame alone (length, padding, stream 0 or not); state checks live
/// in the connection. Works on <see cref="ReadOnlySequence{T}"/> slices of the pipe: no copies, no allocations.
/// </summary>
internal static class Http2FrameReader
{
    /// <summary>
    /// Takes one complete frame off the front of <paramref name="buffer"/>. Returns false when more bytes
    /// are needed. Throws FRAME_SIZE_ERROR as soon as a header announces more than
    /// <paramref name="maxFrameSize"/> (RFC 9113 §4.2), without waiting for the payload.
    /// </summary>
    public static bool TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxFrameSize, out Http2FrameHeader header, out ReadOnlySequence<byte> payload)
    {
        payload = default;
        if (buffer.Length < Http2FrameHeader.Size)
        {
            header = default;
            return false;
        }
        Span<byte> headerBytes = stackalloc byte[Http2FrameHeader.Size];
        buffer.Slice(0, Http2FrameHeader.Size).CopyTo(headerBytes);
        header = Http2FrameHeader.Read(headerBytes);
        if (header.PayloadLength > maxFrameSize)
        {
            throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError,
                $"{header.Type} frame on stream {header.StreamId} has a {header.PayloadLength}-byte payload, more than our SETTINGS_MAX_FRAME_SIZE {maxFrameSize}");
        }
        long total = Http2FrameHeader.Size + (long)header.PayloadLength;
        if (buffer.Length < total)
        {
            return false;
        }
        payload = buffer.Slice(Http2FrameHeader.Size, header.PayloadLength);
        buffer = buffer.Slice(total);
        return true;
    }

    /// <summary>
    /// Checks that a frame type sits on the right kind of stream (RFC 9113 §6: DATA, HEADERS, PRIORITY,
    /// RST_STREAM, PUSH_PROMISE and CONTINUATION never on stream 0; SETTINGS, PING and GOAWAY only there)
    /// and that fixed-size frames have their size (FRAME_SIZE_ERROR).
    /// </summary>
    public static void ValidateStreamAndSize(in Http2FrameHeader header)
    {
        switch (header.Type)
        {
            case Http2FrameType.Data or Http2FrameType.Headers or Http2FrameType.Priority or Http2FrameType.RstStream
                or Http2FrameType.PushPromise or Http2FrameType.Continuation:
                if (header.StreamId == 0)
                {
                    throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"{header.Type} frame on stream 0");
                }
                break;
            case Http2FrameType.Settings or Http2FrameType.Ping or Http2FrameType.GoAway:
                if (header.StreamId != 0)
                {
                    throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"{header.Type} frame on stream {header.StreamId}, it belongs on stream 0");
                }
                break;
        }
        switch (header.Type)
        {
            case Http2FrameType.RstStream when header.PayloadLength != 4:
            case Http2FrameType.WindowUpdate when header.PayloadLength != 4:
            case Http2FrameType.Ping when header.PayloadLength != 8:
            case Http2FrameType.GoAway when header.PayloadLength < 8:
            case Http2FrameType.Settings when header.HasFlag(Http2Flags.Ack) && header.PayloadLength != 0:
            case Http2FrameType.Settings when header.PayloadLength % 6 != 0:
                throw new Http2ConnectionException(Http2ErrorCode.FrameSizeError, $"{header.Type} frame on stream {header.StreamId} has a bad length {header.PayloadLength}");
            case Http2FrameType.Priority when header.PayloadLength != 5:
                // A PRIORITY frame of the wrong size is only a stream error (RFC 9113 §6.3).
                throw new Http2StreamException(header.StreamId, Http2ErrorCode.FrameSizeError, $"PRIORITY frame has a bad length {header.PayloadLength}");
        }
    }

    /// <summary>
    /// Strips the Pad Length octet and the padding of a PADDED DATA or HEADERS frame (RFC 9113 §6.1, §6.2).
    /// Padding that covers the whole payload is a PROTOCOL_ERROR.
    /// </summary>
    public static ReadOnlySequence<byte> RemovePadding(in Http2FrameHeader header, ReadOnlySequence<byte> payload)
    {
        if (!header.HasFlag(Http2Flags.Padded))
        {
            return payload;
        }
        if (payload.IsEmpty)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"PADDED {header.Type} frame on stream {header.StreamId} has no Pad Length octet");
        }
        int padLength = payload.FirstSpan[0];
        if (padLength >= payload.Length)
        {
            throw new Http2ConnectionException(Http2ErrorCode.ProtocolError,
                $"{header.Type} frame on stream {header.StreamId} has {padLength} bytes of padding in a {payload.Length}-byte payload");
        }
        return payload.Slice(1, payload.Length - 1 - padLength);
    }

    /// <summary>The header block fragment of a HEADERS frame: padding and the deprecated priority fields removed.</summary>
    /// <paramref name="selfDependent"/> reports a stream made dependent on itself: a stream error (§5.3.1)
    /// that the caller raises only after decoding the block, to keep the HPACK table in sync.
    public static ReadOnlySequence<byte> GetHeaderBlockFragment(in Http2FrameHeader header, ReadOnlySequence<byte> payload, out bool selfDependent)
    {
        selfDependent = false;
        payload = RemovePadding(header, payload);
        if (header.HasFlag(Http2Flags.Priority))
        {
            if (payload.Length < 5)
            {
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError,
                    $"HEADERS frame on stream {header.StreamId} has the PRIORITY flag but only {payload.Length} bytes for the 5-byte priority fields");
            }
            int dependency = (int)(ReadUInt32(payload) & 0x7FFF_FFFF);
            selfDependent = dependency == header.StreamId;
            payload = payload.Slice(5);
        }
        return payload;
    }

    public static uint ReadUInt32(in ReadOnlySequence<byte> payload)
    {
        if (payload.FirstSpan.Length >= 4)
        {
            return BinaryPrimitives.ReadUInt32BigEndian(payload.FirstSpan);
        }
        Span<byte> bytes = stackalloc byte[4];
        payload.Slice(0, 4).CopyTo(bytes);
        return BinaryPrimitives.ReadUInt32BigEndian(bytes);
    }

    public static ulong ReadUInt64(in ReadOnlySequence<byte> payload)
    {
        Span<byte> bytes = stackalloc byte[8];
        payload.Slice(0, 8).CopyTo(bytes);
        return BinaryPrimitives.ReadUInt64BigEndian(bytes);
    }

    /// <summary>The window size increment of a WINDOW_UPDATE (reserved bit ignored, RFC 9113 §6.9).</summary>
    public static int ReadWindowIncrement(in ReadOnlySequence<byte> payload) => (int)(ReadUInt32(payload) & 0x7FFF_FFFF);

    /// <summary>Reads the setting at <paramref name="index"/> of a SETTINGS payload.</summary>
    public static Http2Setting ReadSetting(in ReadOnlySequence<byte> payload, int index)
    {
        Span<byte> bytes = stackalloc byte[6];
        payload.Slice(index * 6, 6).CopyTo(bytes);
        return new Http2Setting((Http2SettingId)BinaryPrimitives.ReadUInt16BigEndian(bytes), BinaryPrimitives.ReadUInt32BigEndian(bytes[2..]));
    }

    /// <summary>Range checks of RFC 9113 §6.5.2 for settings the peer sent (<paramref name="fromServer"/>: we are the client).</summary>
    public static void ValidateSetting(Http2Setting setting, bool fromServer)
    {
        switch (setting.Id)
        {
            // A server must not announce push; a client treats ENABLE_PUSH=1 from it as PROTOCOL_ERROR too.
            case Http2SettingId.EnablePush when fromServer && setting.Value != 0:
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"SETTINGS_ENABLE_PUSH is {setting.Value}; a server may only send 0");
            case Http2SettingId.EnablePush when setting.Value > 1:
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"SETTINGS_ENABLE_PUSH is {setting.Value}; only 0 and 1 are valid");
            case Http2SettingId.InitialWindowSize when setting.Value > int.MaxValue:
                throw new Http2ConnectionException(Http2ErrorCode.FlowControlError, $"SETTINGS_INITIAL_WINDOW_SIZE {setting.Value} is above 2^31-1");
            case Http2SettingId.MaxFrameSize when setting.Value is < Http2FrameHeader.DefaultMaxFrameSize or > Http2FrameHeader.MaxPayloadLength:
                throw new Http2ConnectionException(Http2ErrorCode.ProtocolError, $"SETTINGS_MAX_FRAME_SIZE {setting.Value} is outside 16384..16777215");
        }
    }
}
