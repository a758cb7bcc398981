namespace Ztunnel.Hbone.Server;

/// <summary>Knobs of <see cref="HboneServer"/>; the defaults are what the daemon runs with.</summary>
public sealed class HboneServerOptions
{
    /// <summary>
    /// False serves HTTP/2 over plain TCP (prior knowledge, no identities): for tests of the HTTP layer only.
    /// HBONE itself is always mTLS.
    /// </summary>
    public bool UseTls { get; init; } = true;

    /// <summary>Bound on a client's TLS handshake, and then again on its HTTP/2 preface and SETTINGS (RFC 9113 §3.4).</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(10);

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
