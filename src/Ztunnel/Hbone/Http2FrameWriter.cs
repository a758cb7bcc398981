using System.Buffers;
using System.Buffers.Binary;

namespace Ztunnel.Hbone;

/// <summary>
/// Serialises every frame type we send straight into an <see cref="IBufferWriter{T}"/> (the connection's
/// output pipe). No allocations: each frame is one GetSpan/Advance.
/// </summary>
internal static class Http2FrameWriter
{
    /// <summary>The client connection preface (RFC 9113 §3.4), sent before our first SETTINGS.</summary>
    public static ReadOnlySpan<byte> ClientPreface => "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"u8;

    public static void WriteFrame(IBufferWriter<byte> output, Http2FrameType type, byte flags, int streamId, ReadOnlySpan<byte> payload)
    {
        Span<byte> span = output.GetSpan(Http2FrameHeader.Size + payload.Length);
        new Http2FrameHeader(payload.Length, type, flags, streamId).Write(span);
        payload.CopyTo(span[Http2FrameHeader.Size..]);
        output.Advance(Http2FrameHeader.Size + payload.Length);
    }

    public static void WriteData(IBufferWriter<byte> output, int streamId, ReadOnlySpan<byte> data, bool endStream) =>
        WriteFrame(output, Http2FrameType.Data, endStream ? Http2Flags.EndStream : Http2Flags.None, streamId, data);

    /// <summary>
    /// Writes a header block as one HEADERS frame followed by as many CONTINUATION frames as the peer's
    /// SETTINGS_MAX_FRAME_SIZE requires (RFC 9113 §4.3). The frames go out back to back, as §6.10 demands.
    /// </summary>
    public static void WriteHeaders(IBufferWriter<byte> output, int streamId, ReadOnlySpan<byte> headerBlock, bool endStream, int maxFrameSize)
    {
        int first = Math.Min(headerBlock.Length, maxFrameSize);
        byte flags = endStream ? Http2Flags.EndStream : Http2Flags.None;
        if (first == headerBlock.Length)
        {
            flags |= Http2Flags.EndHeaders;
        }
        WriteFrame(output, Http2FrameType.Headers, flags, streamId, headerBlock[..first]);
        headerBlock = headerBlock[first..];
        while (!headerBlock.IsEmpty)
        {
            int n = Math.Min(headerBlock.Length, maxFrameSize);
            WriteFrame(output, Http2FrameType.Continuation, n == headerBlock.Length ? Http2Flags.EndHeaders : Http2Flags.None, streamId, headerBlock[..n]);
            headerBlock = headerBlock[n..];
        }
    }

    public static void WriteSettings(IBufferWriter<byte> output, ReadOnlySpan<Http2Setting> settings)
    {
        int length = settings.Length * 6;
        Span<byte> span = output.GetSpan(Http2FrameHeader.Size + length);
        new Http2FrameHeader(length, Http2FrameType.Settings, Http2Flags.None, 0).Write(span);
        Span<byte> p = span[Http2FrameHeader.Size..];
        foreach (var setting in settings)
        {
            BinaryPrimitives.WriteUInt16BigEndian(p, (ushort)setting.Id);
            BinaryPrimitives.WriteUInt32BigEndian(p[2..], setting.Value);
            p = p[6..];
        }
        output.Advance(Http2FrameHeader.Size + length);
    }

    public static void WriteSettingsAck(IBufferWriter<byte> output) =>
        WriteFrame(output, Http2FrameType.Settings, Http2Flags.Ack, 0, default);

    public static void WritePing(IBufferWriter<byte> output, ulong opaqueData, bool ack)
    {
        Span<byte> payload = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(payload, opaqueData);
        WriteFrame(output, Http2FrameType.Ping, ack ? Http2Flags.Ack : Http2Flags.None, 0, payload);
    }

    public static void WriteGoAway(IBufferWriter<byte> output, int lastStreamId, Http2ErrorCode errorCode, ReadOnlySpan<byte> debugData)
    {
        int length = 8 + debugData.Length;
        Span<byte> span = output.GetSpan(Http2FrameHeader.Size + length);
        new Http2FrameHeader(length, Http2FrameType.GoAway, Http2Flags.None, 0).Write(span);
        BinaryPrimitives.WriteUInt32BigEndian(span[9..], (uint)lastStreamId & 0x7FFF_FFFF);
        BinaryPrimitives.WriteUInt32BigEndian(span[13..], (uint)errorCode);
        debugData.CopyTo(span[17..]);
        output.Advance(Http2FrameHeader.Size + length);
    }

    public static void WriteRstStream(IBufferWriter<byte> output, int streamId, Http2ErrorCode errorCode)
    {
        Span<byte> payload = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)errorCode);
        WriteFrame(output, Http2FrameType.RstStream, Http2Flags.None, streamId, payload);
    }

    public static void WriteWindowUpdate(IBufferWriter<byte> output, int streamId, int increment)
    {
        Span<byte> payload = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(payload, (uint)increment & 0x7FFF_FFFF);
        WriteFrame(output, Http2FrameType.WindowUpdate, Http2Flags.None, streamId, payload);
    }
}
