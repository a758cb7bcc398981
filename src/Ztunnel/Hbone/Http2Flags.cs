namespace Ztunnel.Hbone;

/// <summary>
/// HTTP/2 frame flag bits (RFC 9113 §6). Constants rather than an enum because the same bit means
/// END_STREAM on DATA/HEADERS and ACK on SETTINGS/PING.
/// </summary>
internal static class Http2Flags
{
    public const byte None = 0x0;
    public const byte EndStream = 0x1;
    public const byte Ack = 0x1;
    public const byte EndHeaders = 0x4;
    public const byte Padded = 0x8;
    public const byte Priority = 0x20;
}
