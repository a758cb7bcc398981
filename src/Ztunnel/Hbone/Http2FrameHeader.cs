using System.Buffers.Binary;

namespace Ztunnel.Hbone;

/// <summary>The 9-byte frame header (RFC 9113 §4.1): 24-bit length, type, flags, R bit + 31-bit stream id.</summary>
internal readonly record struct Http2FrameHeader(int PayloadLength, Http2FrameType Type, byte Flags, int StreamId)
{
    public const int Size = 9;

    /// <summary>Largest value the 24-bit length field can carry.</summary>
    public const int MaxPayloadLength = (1 << 24) - 1;

    /// <summary>Smallest SETTINGS_MAX_FRAME_SIZE a peer may announce, and the default (RFC 9113 §6.5.2).</summary>
    public const int DefaultMaxFrameSize = 16384;

    public bool HasFlag(byte flag) => (Flags & flag) != 0;

    public static Http2FrameHeader Read(ReadOnlySpan<byte> source)
    {
        int length = (source[0] << 16) | (source[1] << 8) | source[2];
        // The reserved bit is ignored on receipt (§4.1).
        int streamId = (int)(BinaryPrimitives.ReadUInt32BigEndian(source[5..]) & 0x7FFF_FFFF);
        return new Http2FrameHeader(length, (Http2FrameType)source[3], source[4], streamId);
    }

    public void Write(Span<byte> destination)
    {
        destination[0] = (byte)(PayloadLength >> 16);
        destination[1] = (byte)(PayloadLength >> 8);
        destination[2] = (byte)PayloadLength;
        destination[3] = (byte)Type;
        destination[4] = Flags;
        BinaryPrimitives.WriteUInt32BigEndian(destination[5..], (uint)StreamId & 0x7FFF_FFFF);
    }

    public override string ToString() => $"{Type} stream={StreamId} flags=0x{Flags:x2} length={PayloadLength}";
}
