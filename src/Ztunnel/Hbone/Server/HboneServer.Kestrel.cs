using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;
using Microsoft.Extensions.Logging;
using Ztunnel.Tls;
using System.Net.Security;

namespace Ztunnel.Hbone.Server;

public sealed partial class HboneServer
{
    private void ConfigureKestrel(KestrelServerOptions kestrel, HboneServerOptions options)
    {
        kestrel.AddServerHeader = false;
        kestrel.AllowSynchronousIO = false;

        var limits = kestrel.Limits;
        // A tunnel is one request whose body is the whole TCP stream: no size cap, and no minimum data
        // rate (an idle SSH session over HBONE is fine; PING keepalive finds dead peers instead).
        limits.MaxRequestBodySize = null;
        limits.MinRequestBodyDataRate = null;
        limits.MinResponseDataRate = null;
        limits.MaxConcurrentConnections = null;
        // HBONE requests carry a handful of headers (forwarded, baggage, traceparent).
        limits.MaxRequestHeaderCount = 32;
        limits.MaxRequestHeadersTotalSize = HboneDefaults.MaxHeaderListSize;
        // Idle connections are the client's to release (its pool drops them after 5 min idle); this only
        // bounds ones a client forgot.
        limits.KeepAliveTimeout = 2 * HboneDefaults.PoolIdleTimeout;

        var http2 = limits.Http2;
        http2.InitialStreamWindowSize = HboneDefaults.StreamWindow;
        http2.InitialConnectionWindowSize = HboneDefaults.ConnectionWindow;
        http2.MaxFrameSize = HboneDefaults.MaxFrameSize;
        http2.MaxStreamsPerConnection = HboneDefaults.MaxStreamsPerConnection;
        http2.MaxRequestHeaderFieldSize = HboneDefaults.MaxHeaderListSize;
        http2.KeepAlivePingDelay = HboneDefaults.PingInterval;
        http2.KeepAlivePingTimeout = HboneDefaults.PingTimeout;

        kestrel.Listen(HboneEndPoint.Instance, listen =>
        {
            listen.Protocols = HttpProtocols.Http2;
            // First, so it sees every connection from accept to close (TLS handshake included).
            listen.Use(next => connection => _connections.RunAsync(connection, next));
            if (!options.UseTls)
            {
                return;
            }
            listen.UseHttps(new TlsHandshakeCallbackOptions
            {
                OnConnection = SelectServerTls,
                HandshakeTimeout = options.HandshakeTimeout,
            });
            // Runs after the handshake: read the client's identity once per connection, not per CONNECT,
            // and move the connection onto pipes that carry full TLS records.
            listen.Use(next => connection =>
            {
                IdentifyPeer(connection);
                return TlsRecordPipes.RunAsync(connection, next);
            });
        });
    }

    // Each listener (pod) presents its own certificate; the options are built once per listener.
    private static ValueTask<SslServerAuthenticationOptions> SelectServerTls(TlsHandshakeCallbackContext context)
    {
        var listener = context.Connection.Features.Get<HboneConnectionFeature>()?.Listener
            ?? throw new InvalidOperationException("HBONE TLS handshake on a connection without a listener");
        var tls = listener.ServerTlsOptions
            ?? throw new InvalidOperationException($"HBONE listener {listener} has no server TLS options");
        return ValueTask.FromResult(tls);
    }

    private void IdentifyPeer(ConnectionContext connection)
    {
        var feature = connection.Features.Get<HboneConnectionFeature>()!;
        var ssl = connection.Features.Get<ISslStreamFeature>()?.SslStream;
        var identity = ssl is null ? null : HboneTls.GetPeerIdentity(ssl);
        if (identity is null)
        {
            // The validator requires a SPIFFE client certificate, so this is a wiring bug; refuse the
            // connection rather than serve it without an identity.
            Log.NoPeerIdentity(_logger, feature.Listener.Name, connection.RemoteEndPoint);
            throw new InvalidOperationException($"HBONE connection from {connection.RemoteEndPoint} on {feature.Listener} has no client identity");
        }
        feature.PeerIdentity = identity;
    }
}
