namespace Ztunnel.Admin.Http;

/// <summary>
/// Limits of one <see cref="HttpServer"/>. The defaults fit the control-plane endpoints: small requests from a
/// few local clients (Prometheus, kubelet probes, curl, the CNI plugin).
/// </summary>
internal sealed record HttpServerOptions
{
    /// <summary>Request line plus header fields, CRLFs included; a longer head is answered 431 (RFC 6585 §5).</summary>
    public int MaxHeadBytes { get; init; } = 8 * 1024;

    /// <summary>Header fields per request; more is answered 431.</summary>
    public int MaxHeaderCount { get; init; } = 64;

    /// <summary>Content-Length of a request body; more is answered 413 without reading it.</summary>
    public int MaxBodyBytes { get; init; } = 64 * 1024;

    /// <summary>
    /// From a request's first byte (or from accepting the connection) until its head and body are in; a client
    /// that sends nothing or trickles is dropped after it.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a kept-alive connection may wait for its next request.</summary>
    public TimeSpan KeepAliveTimeout { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How long sending one response may take (a client that does not read is dropped after it).</summary>
    public TimeSpan ResponseTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Open connections; one more is answered 503 and closed.</summary>
    public int MaxConnections { get; init; } = 64;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
