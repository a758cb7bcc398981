using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Ztunnel.Sockets;
namespace Ztunnel.Tls.Native;

/// <summary>
/// The OpenSSL context (SSL_CTX) for one (own certificate, trust bundle, role): HBONE's TLS settings
/// (DESIGN §4) fixed once, shared by every connection made or accepted with it. Connections started from
/// it are <see cref="NativeTlsStream"/>s. Disposing the context while connections use it is safe: OpenSSL
/// counts references from each connection.
/// </summary>
public sealed class NativeTlsContext : IDisposable
{
    /// <summary>The only cipher suites HBONE negotiates: TLS 1.3 AES-GCM.</summary>
    private const string CipherSuites = "TLS_AES_128_GCM_SHA256:TLS_AES_256_GCM_SHA384";

    private readonly SafeSslContextHandle _ctx;
    private readonly X509ChainPolicy _chainPolicy;
    private readonly PeerCertificateValidator? _clientValidator;

    private NativeTlsContext(WorkloadCertificate own, TrustBundle bundle, bool isServer, X509ChainPolicy chainPolicy, ILogger? logger)
    {
        Certificate = own;
        Bundle = bundle;
        IsServer = isServer;
        Logger = logger;
        _chainPolicy = chainPolicy;
        _clientValidator = isServer ? PeerCertificateValidator.ForClient(bundle, own.Identity.TrustDomain, logger) : null;
        _ctx = Create(own, isServer);
    }

    public WorkloadCertificate Certificate { get; }
    public TrustBundle Bundle { get; }
    public bool IsServer { get; }
    internal ILogger? Logger { get; }

    /// <summary>Accepts HBONE clients as <paramref name="own"/>; clients must present a certificate of our trust domain.</summary>
    public static NativeTlsContext ForServer(WorkloadCertificate own, TrustBundle bundle, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(own);
        ArgumentNullException.ThrowIfNull(bundle);
        return new NativeTlsContext(own, bundle, isServer: true, HboneTls.ChainPolicy(bundle, HboneTls.ClientAuthOid), logger);
    }

    /// <summary>Connects to HBONE servers as <paramref name="own"/>; each connection names the server identity it expects.</summary>
    public static NativeTlsContext ForClient(WorkloadCertificate own, TrustBundle bundle, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(own);
        ArgumentNullException.ThrowIfNull(bundle);
        return new NativeTlsContext(own, bundle, isServer: false, HboneTls.ChainPolicy(bundle, HboneTls.ServerAuthOid), logger);
    }

    /// <summary>
    /// TLS as the client on the connected <paramref name="socket"/> (the stream owns it from here on, also on
    /// failure); the server must be <paramref name="expectedServer"/>.
    /// </summary>
    internal Task<NativeTlsStream> ConnectAsync(Socket socket, SpiffeId expectedServer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return ConnectAsync(Poll(socket), expectedServer, cancellationToken);
    }

    /// <summary><see cref="ConnectAsync(Socket, SpiffeId, CancellationToken)"/> on a socket the daemon connected itself.</summary>
    internal Task<NativeTlsStream> ConnectAsync(PolledSocket socket, SpiffeId expectedServer, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (IsServer)
        {
            socket.Dispose();
            throw new InvalidOperationException("a server TLS context cannot connect");
        }
        return NativeTlsStream.HandshakeAsync(this, socket, PeerCertificateValidator.ForServer(Bundle, expectedServer, Logger), cancellationToken);
    }

    /// <summary>TLS as the server on the accepted <paramref name="socket"/> (owned by the stream from here on, also on failure).</summary>
    internal Task<NativeTlsStream> AcceptAsync(Socket socket, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(socket);
        if (_clientValidator is null)
        {
            socket.Dispose();
            throw new InvalidOperationException("a client TLS context cannot accept");
        }
        return NativeTlsStream.HandshakeAsync(this, Poll(socket), _clientValidator, cancellationToken);
    }

    /// <summary>The socket registered with the daemon's poller; closed if that fails (the caller gave it away).</summary>
    private static PolledSocket Poll(Socket socket)
    {
        try
        {
            return new PolledSocket(socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>A new SSL for one connection, in the context's role.</summary>
    internal SafeSslHandle NewSsl()
    {
        SafeSslHandle ssl = OpenSsl.SSL_new(_ctx);
        if (ssl.IsInvalid)
        {
            ssl.Dispose();
            throw new InvalidOperationException($"OpenSSL: SSL_new failed: {OpenSslError.Drain("out of memory?")}");
        }
        if (IsServer)
        {
            OpenSsl.SSL_set_accept_state(ssl);
        }
        else
        {
            OpenSsl.SSL_set_connect_state(ssl);
        }
        return ssl;
    }

    /// <summary>A copy of the chain policy for one verification (X509Chain takes its policy by reference).</summary>
    internal X509ChainPolicy ChainPolicy() => _chainPolicy.Clone();

    public override string ToString() => $"{(IsServer ? "server" : "client")} TLS context for {Certificate.Identity}";

    public void Dispose() => _ctx.Dispose();

    private static unsafe SafeSslContextHandle Create(WorkloadCertificate own, bool isServer)
    {
        OpenSsl.ERR_clear_error();
        SafeSslContextHandle ctx = OpenSsl.SSL_CTX_new(OpenSsl.TLS_method());
        if (ctx.IsInvalid)
        {
            ctx.Dispose();
            throw new InvalidOperationException($"OpenSSL: SSL_CTX_new failed: {OpenSslError.Drain("out of memory?")}");
        }
        try
        {
            // TLS 1.3 only; no compression, renegotiation or session tickets: every handshake presents and
            // verifies certificates in full, so the identity checks always see the peer's current certificate.
            OpenSslError.Check(OpenSsl.SSL_CTX_ctrl(ctx, OpenSsl.SSL_CTRL_SET_MIN_PROTO_VERSION, OpenSsl.TLS1_3_VERSION, 0) == 1, "SSL_CTX_set_min_proto_version");
            OpenSslError.Check(OpenSsl.SSL_CTX_ctrl(ctx, OpenSsl.SSL_CTRL_SET_MAX_PROTO_VERSION, OpenSsl.TLS1_3_VERSION, 0) == 1, "SSL_CTX_set_max_proto_version");
            OpenSsl.SSL_CTX_set_options(ctx, OpenSsl.SSL_OP_NO_COMPRESSION | OpenSsl.SSL_OP_NO_RENEGOTIATION | OpenSsl.SSL_OP_NO_TICKET);
            OpenSslError.Check(OpenSsl.SSL_CTX_set_num_tickets(ctx, 0) == 1, "SSL_CTX_set_num_tickets");
            OpenSsl.SSL_CTX_ctrl(ctx, OpenSsl.SSL_CTRL_SET_SESS_CACHE_MODE, OpenSsl.SSL_SESS_CACHE_OFF, 0);
            OpenSslError.Check(OpenSsl.SSL_CTX_set_ciphersuites(ctx, CipherSuites) == 1, "SSL_CTX_set_ciphersuites");
            // OpenSSL runs the handshake only; our record layer (NativeTlsStream.Records.cs) takes over after it with the
            // application traffic secrets the key log callback hands over. No read-ahead (the default): the SSL reads
            // exactly one record at a time, so it never takes bytes past the handshake from the socket.
            OpenSsl.SSL_CTX_ctrl(ctx, OpenSsl.SSL_CTRL_MODE, OpenSsl.SSL_MODE_RELEASE_BUFFERS, 0);
            OpenSsl.SSL_CTX_set_keylog_callback(ctx, &NativeTlsStream.OnKeyLogLine);

            // Peer certificates are verified during the handshake, in managed code, with exactly the checks SslStream
            // ran (chain to the bundle only, EKU, SPIFFE identity; NativeTlsStream.VerifyPeerDuringHandshake), never
            // against OpenSSL's default trust store. A server requests the client's certificate and answers a client
            // that sends none with certificate_required.
            OpenSsl.SSL_CTX_set_verify(ctx, OpenSsl.SSL_VERIFY_PEER | (isServer ? OpenSsl.SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0), null);
            OpenSsl.SSL_CTX_set_cert_verify_callback(ctx, &NativeTlsStream.VerifyPeerDuringHandshake, 0);
            if (isServer)
            {
                OpenSsl.SSL_CTX_set_client_hello_cb(ctx, &RequireAlpn, 0);
                OpenSsl.SSL_CTX_set_alpn_select_cb(ctx, &SelectH2, 0);
            }
            else
            {
                byte* h2 = stackalloc byte[] { 2, (byte)'h', (byte)'2' };
                OpenSslError.Check(OpenSsl.SSL_CTX_set_alpn_protos(ctx, h2, 3) == 0, "SSL_CTX_set_alpn_protos");
            }
            UseCertificate(ctx, own);
            return ctx;
        }
        catch
        {
            ctx.Dispose();
            throw;
        }
    }

    // The leaf, the intermediates and the private key, handed over as DER (the key as PKCS#8, wiped after).
    private static unsafe void UseCertificate(SafeSslContextHandle ctx, WorkloadCertificate own)
    {
        nint leaf = ParseCertificate(own.Certificate);
        try
        {
            OpenSslError.Check(OpenSsl.SSL_CTX_use_certificate(ctx, leaf) == 1, "SSL_CTX_use_certificate");
        }
        finally
        {
            OpenSsl.X509_free(leaf); // SSL_CTX_use_certificate took its own reference
        }
        foreach (X509Certificate2 intermediate in own.Chain)
        {
            nint x509 = ParseCertificate(intermediate);
            try
            {
                // SSL_CTX_add1_chain_cert: up-refs, so ours is freed below.
                OpenSslError.Check(OpenSsl.SSL_CTX_ctrl(ctx, OpenSsl.SSL_CTRL_CHAIN_CERT, 1, x509) == 1, "SSL_CTX_add1_chain_cert");
            }
            finally
            {
                OpenSsl.X509_free(x509);
            }
        }
        using ECDsa key = own.Certificate.GetECDsaPrivateKey()
            ?? throw new ArgumentException($"workload certificate {own.Identity} has no ECDSA private key", nameof(own));
        byte[] pkcs8 = key.ExportPkcs8PrivateKey();
        try
        {
            nint pkey;
            fixed (byte* der = pkcs8)
            {
                byte* p = der;
                pkey = OpenSsl.d2i_AutoPrivateKey(0, &p, pkcs8.Length);
            }
            OpenSslError.Check(pkey != 0, $"d2i_AutoPrivateKey (the private key of {own.Identity})");
            try
            {
                OpenSslError.Check(OpenSsl.SSL_CTX_use_PrivateKey(ctx, pkey) == 1, "SSL_CTX_use_PrivateKey");
            }
            finally
            {
                OpenSsl.EVP_PKEY_free(pkey);
            }
        }
        finally
        {
            CryptographicOperations.ZeroMemory(pkcs8);
        }
        OpenSslError.Check(OpenSsl.SSL_CTX_check_private_key(ctx) == 1, $"SSL_CTX_check_private_key (the key of {own.Identity} does not match its certificate)");
    }

    private static unsafe nint ParseCertificate(X509Certificate2 certificate)
    {
        byte[] der = certificate.RawData;
        nint x509;
        fixed (byte* start = der)
        {
            byte* p = start;
            x509 = OpenSsl.d2i_X509(0, &p, der.Length);
        }
        OpenSslError.Check(x509 != 0, $"d2i_X509 (certificate '{certificate.Subject}')");
        return x509;
    }

    // HBONE is HTTP/2 (DESIGN §4): a ClientHello without ALPN is refused with no_application_protocol, as
    // one that offers other protocols only is below (OpenSSL calls the ALPN callback only when there is
    // something to select from).
    [UnmanagedCallersOnly]
    private static unsafe int RequireAlpn(nint ssl, int* alert, nint arg)
    {
        byte* data;
        nuint length;
        if (OpenSsl.SSL_client_hello_get0_ext(ssl, OpenSsl.TLSEXT_TYPE_application_layer_protocol_negotiation, &data, &length) == 1)
        {
            return OpenSsl.SSL_CLIENT_HELLO_SUCCESS;
        }
        NativeTlsStream.RefuseHandshakeInProgress(new TlsNegotiationException(NativeTlsStream.NoAlpnFromClient));
        *alert = OpenSsl.SSL_AD_NO_APPLICATION_PROTOCOL;
        return OpenSsl.SSL_CLIENT_HELLO_ERROR;
    }

    // ALPN (RFC 7301 §3.2): the server selects h2 or refuses the handshake with no_application_protocol.
    [UnmanagedCallersOnly]
    private static unsafe int SelectH2(nint ssl, byte** selected, byte* selectedLength, byte* offered, uint offeredLength, nint arg)
    {
        uint i = 0;
        while (i < offeredLength)
        {
            byte length = offered[i];
            if (length == 2 && i + 2 < offeredLength && offered[i + 1] == 'h' && offered[i + 2] == '2')
            {
                *selected = offered + i + 1;
                *selectedLength = 2;
                return OpenSsl.SSL_TLSEXT_ERR_OK;
            }
            i += 1u + length;
        }
        return OpenSsl.SSL_TLSEXT_ERR_ALERT_FATAL;
    }
}
