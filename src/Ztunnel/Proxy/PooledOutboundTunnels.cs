using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Ztunnel.Capture;
using Ztunnel.Hbone;
using Ztunnel.Sockets;
using Ztunnel.Tls;
using Ztunnel.Tls.Native;

namespace Ztunnel.Proxy;

/// <summary>
/// HBONE tunnels for local pods over pooled HTTP/2 connections. Each pod has its own pool: its
/// connections are dialled from inside its netns (so the peer sees the pod's own IP) with its own
/// certificate, which a pool shared between pods could not guarantee for two pods of one identity.
/// </summary>
internal sealed class PooledOutboundTunnels : IOutboundTunnels, IAsyncDisposable
{
    private readonly ProxyContext _context;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, Lazy<HboneConnectionPool>> _pools = new(StringComparer.Ordinal);

    // Keyed weakly by the certificate: a context lives as long as its certificate is in use.
    private readonly ConditionalWeakTable<WorkloadCertificate, NativeTlsContext> _clientContexts = [];

    public PooledOutboundTunnels(ProxyContext context)
    {
        _context = context;
        _logger = context.LoggerFactory.CreateLogger<HboneConnectionPool>();
    }

    public Task<TunnelStream> OpenAsync(EnrolledPod source, SpiffeId destinationIdentity, IPEndPoint target, IPEndPoint client, CancellationToken cancellationToken)
    {
        // Looked up first: GetOrAdd's factory closure would be allocated on every call, found or not.
        if (!_pools.TryGetValue(source.Uid, out Lazy<HboneConnectionPool>? lazy))
        {
            lazy = _pools.GetOrAdd(source.Uid, _ => new Lazy<HboneConnectionPool>(() => CreatePool(source)));
        }
        HboneConnectionPool pool = lazy.Value;
        var key = new HbonePoolKey(source.Identity, destinationIdentity, new IPEndPoint(target.Address, HboneDefaults.Port));
        KeyValuePair<string, string>[] headers = [new("forwarded", $"for=\"{Format(client)}\"")];
        return pool.ConnectAsync(key, Format(target), headers, cancellationToken);
    }

    public async ValueTask ReleaseAsync(EnrolledPod source)
    {
        if (_pools.TryRemove(source.Uid, out var pool) && pool.IsValueCreated)
        {
            await pool.Value.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var uid in _pools.Keys)
        {
            if (_pools.TryRemove(uid, out var pool) && pool.IsValueCreated)
            {
                await pool.Value.DisposeAsync();
            }
        }
    }

    private HboneConnectionPool CreatePool(EnrolledPod pod) =>
        new((key, cancellationToken) => DialAsync(pod, key, cancellationToken), _context.Time, _logger);

    /// <summary>TCP from the pod's netns (marked, never captured) to the peer's 15008, then mTLS as the pod.</summary>
    private async Task<Stream> DialAsync(EnrolledPod pod, HbonePoolKey key, CancellationToken cancellationToken)
    {
        PolledSocket socket = await PodSockets.ConnectAsync(_context, pod, key.Address, sourceAddress: null, cancellationToken);
        NativeTlsContext tls;
        try
        {
            WorkloadCertificate certificate = await _context.Certificates.GetAsync(key.Source, cancellationToken);
            tls = ClientContext(certificate);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        // The stream owns the socket from here on, also when the handshake fails.
        return await tls.ConnectAsync(socket, key.Destination, cancellationToken);
    }

    /// <summary>
    /// The client TLS context of <paramref name="certificate"/>, built once per certificate and trust bundle
    /// rather than per connection (it parses the chain and the private key into OpenSSL).
    /// </summary>
    private NativeTlsContext ClientContext(WorkloadCertificate certificate)
    {
        TrustBundle bundle = _context.Certificates.TrustBundle;
        if (_clientContexts.TryGetValue(certificate, out NativeTlsContext? cached) && ReferenceEquals(cached.Bundle, bundle))
        {
            return cached;
        }
        // A rotated certificate or bundle: the old context is freed by its finalizer once no connection
        // uses it (OpenSSL counts the references of live connections).
        // No logger: a refused server reaches the caller as TlsPeerRejectedException (the pool reports it).
        var created = NativeTlsContext.ForClient(certificate, bundle);
        _clientContexts.AddOrUpdate(certificate, created);
        return created;
    }

    // RFC 3986 / RFC 7239: an IPv6 address in an authority or a forwarded node is bracketed.
    private static string Format(IPEndPoint endPoint) =>
        endPoint.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{endPoint.Address}]:{endPoint.Port}" : $"{endPoint.Address}:{endPoint.Port}";
}
