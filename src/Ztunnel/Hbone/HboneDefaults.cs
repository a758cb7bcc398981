namespace Ztunnel.Hbone;

/// <summary>
/// HTTP/2 numbers shared by our client and our server (DESIGN §4), chosen to match Istio's ztunnel.
/// </summary>
internal static class HboneDefaults
{
    /// <summary>The HBONE port inside every enrolled pod's network namespace.</summary>
    public const int Port = 15008;

    /// <summary>Per-stream receive window. One tunnel can have this much unread data in flight.</summary>
    public const int StreamWindow = 4 * 1024 * 1024;

    /// <summary>
    /// Connection receive window: 4x the stream window, so one slow tunnel that stops reading can hold
    /// at most a quarter of the connection's credit and never stalls the other streams on it.
    /// </summary>
    public const int ConnectionWindow = 16 * 1024 * 1024;

    /// <summary>Largest frame payload we accept (SETTINGS_MAX_FRAME_SIZE).</summary>
    public const int MaxFrameSize = 1024 * 1024;

    /// <summary>Streams per pooled connection; more concurrent tunnels open another connection.</summary>
    public const int MaxStreamsPerConnection = 100;

    /// <summary>Cap on the decoded header list of one HEADERS block (name + value + 32 per field, RFC 9113 §6.5.2).</summary>
    public const int MaxHeaderListSize = 16 * 1024;

    public static readonly TimeSpan PingInterval = TimeSpan.FromSeconds(10);
    public static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(20);
    public static readonly TimeSpan PoolIdleTimeout = TimeSpan.FromMinutes(5);
}
