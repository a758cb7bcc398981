using System.Net;
using Ztunnel.Tls.Native;

namespace Ztunnel.Hbone.Server;

/// <summary>
/// What the server knows about one listening socket (one pod's 15008): who it serves and with which
/// certificate. Every connection accepted on the socket carries it, so the CONNECT handler knows which
/// pod the request arrived for.
/// </summary>
public sealed class HboneListenerInfo
{
    public HboneListenerInfo(string name, IPEndPoint localEndPoint, NativeTlsContext? serverTls, object? tag = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(localEndPoint);
        Name = name;
        LocalEndPoint = localEndPoint;
        ServerTls = serverTls;
        Tag = tag;
    }

    /// <summary>For logs, e.g. <c>ns/pod</c>.</summary>
    public string Name { get; }

    /// <summary>The address the socket listens on (the pod IP and 15008).</summary>
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>
    /// The listener's own server TLS context (its pod's certificate, client certificate required), built
    /// once by the caller and reused for every handshake. Replacing it (certificate rotation) affects new
    /// connections only; the old context is freed once its last connection is (OpenSSL counts references).
    /// Null only on a plaintext server (tests).
    /// </summary>
    public NativeTlsContext? ServerTls { get; set; }

    /// <summary>The caller's object for this listener (the proxy puts the pod here).</summary>
    public object? Tag { get; }

    public override string ToString() => $"{Name} ({LocalEndPoint})";
}
