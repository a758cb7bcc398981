using System.Net.Security;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Ztunnel.Sockets;
namespace Ztunnel.Tls.Native;

// The handshake, then ALPN and the peer's certificate checked exactly as SslStream's callback did.
internal sealed partial class NativeTlsStream
{
    /// <summary>A connected stream over <paramref name="socket"/>, or an exception (the socket is closed then).</summary>
    internal static async Task<NativeTlsStream> HandshakeAsync(NativeTlsContext context, PolledSocket socket, PeerCertificateValidator validator, CancellationToken cancellationToken)
    {
        NativeTlsStream stream;
        try
        {
            stream = new NativeTlsStream(context, socket);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
        try
        {
            await stream.RunHandshakeAsync(cancellationToken).ConfigureAwait(false);
            stream.CheckAlpn();
            stream.VerifyPeer(context, validator);
            return stream;
        }
        catch
        {
            // No alert for a peer we refused (as with SslStream): the peer sees the connection close.
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task RunHandshakeAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            Exception? failure = StepHandshake(out bool done, out bool wantRead);
            try
            {
                // Each flight (and, on failure, OpenSSL's alert) goes out before we wait for the peer.
                await SendPendingAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (IOException) when (failure is not null)
            {
                // Best effort: the alert could not be sent; the failure itself is what matters.
            }
            if (failure is not null)
            {
                throw failure;
            }
            if (done)
            {
                return;
            }
            if (wantRead)
            {
                await WaitReadableAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private Exception? StepHandshake(out bool done, out bool wantRead)
    {
        done = wantRead = false;
        lock (_lock)
        {
            ThrowIfDisposedLocked();
            OpenSsl.ERR_clear_error();
            int seen = _socket.ReadEvents;
            int result = OpenSsl.SSL_do_handshake(_ssl);
            if (result == 1)
            {
                done = true;
                return null;
            }
            int errno = Marshal.GetLastPInvokeError();
            int error = OpenSsl.SSL_get_error(_ssl, result);
            switch (error)
            {
                case OpenSsl.SSL_ERROR_WANT_READ:
                    _socket.NoteReceive(seen, drained: true); // the socket BIO's recv found nothing
                    wantRead = true;
                    return null;
                case OpenSsl.SSL_ERROR_WANT_WRITE:
                    return null; // the ring is full: sent by the caller, then retried
                case OpenSsl.SSL_ERROR_ZERO_RETURN:
                    return new IOException("the peer closed the connection (close_notify) during the TLS handshake");
                case OpenSsl.SSL_ERROR_SSL when OpenSslError.PeekLastReason() == OpenSsl.SSL_R_UNEXPECTED_EOF_WHILE_READING:
                    OpenSsl.ERR_clear_error();
                    return new IOException("the peer closed the connection during the TLS handshake");
                case OpenSsl.SSL_ERROR_SYSCALL when errno != 0:
                    OpenSsl.ERR_clear_error();
                    return new IOException($"TLS handshake: {Marshal.GetPInvokeErrorMessage(errno)}");
                default:
                    // A protocol failure (no common version or suite, an alert from the peer, no ALPN h2):
                    // OpenSSL's reason names it, e.g. "tlsv1 alert protocol version".
                    return new TlsNegotiationException($"HBONE TLS handshake failed: {OpenSslError.Drain($"SSL_do_handshake error {error}")}");
            }
        }
    }

    // RFC 7301 §3.2, DESIGN §4: HBONE is HTTP/2; a peer that did not agree on h2 is refused. (A server whose
    // client offered other protocols only already refused in its ALPN callback, during the handshake.)
    private unsafe void CheckAlpn()
    {
        byte* selected;
        uint length;
        lock (_lock)
        {
            ThrowIfDisposedLocked();
            OpenSsl.SSL_get0_alpn_selected(_ssl, &selected, out length);
            if (length == 2 && selected[0] == 'h' && selected[1] == '2')
            {
                NegotiatedApplicationProtocol = SslApplicationProtocol.Http2;
                return;
            }
        }
        throw new TlsNegotiationException(_isServer
            ? "HBONE TLS handshake failed: the client offered no ALPN protocol (HBONE requires h2)"
            : "HBONE TLS handshake failed: the server selected no ALPN protocol (HBONE requires h2)");
    }

    /// <summary>
    /// The checks SslStream ran with our options (HboneTls): chain to the bundle roots only, EKU of the peer's
    /// role, no revocation, then the SPIFFE identity; a rejection throws <see cref="TlsPeerRejectedException"/>
    /// with the same reason (and log line) as before.
    /// </summary>
    private void VerifyPeer(NativeTlsContext context, PeerCertificateValidator validator)
    {
        var intermediates = new X509Certificate2Collection();
        X509Certificate2? leaf = null;
        try
        {
            lock (_lock)
            {
                ThrowIfDisposedLocked();
                leaf = PeerCertificates(intermediates);
                #pragma warning disable CA5397 // Reporting the negotiated version (the context allows TLS 1.3 only), not choosing one.
                SslProtocol = OpenSsl.SSL_version(_ssl) == OpenSsl.TLS1_3_VERSION ? SslProtocols.Tls13 : SslProtocols.None;
#pragma warning restore CA5397
                NegotiatedCipherSuite = (TlsCipherSuite)OpenSsl.SSL_CIPHER_get_protocol_id(OpenSsl.SSL_get_current_cipher(_ssl));
            }
            if (leaf is null)
            {
                validator.Validate(this, null, null, SslPolicyErrors.RemoteCertificateNotAvailable);
                return; // not reached: the validator throws
            }
            using (var chain = new X509Chain())
            {
                chain.ChainPolicy = context.ChainPolicy();
                chain.ChainPolicy.ExtraStore.AddRange(intermediates);
                bool trusted = chain.Build(leaf);
                validator.Validate(this, leaf, chain, trusted ? SslPolicyErrors.None : SslPolicyErrors.RemoteCertificateChainErrors);
            }
            PeerIdentity = SpiffeCertificate.GetIdentity(leaf);
            RemoteCertificate = leaf;
            leaf = null;
        }
        finally
        {
            leaf?.Dispose();
            foreach (X509Certificate2 intermediate in intermediates)
            {
                intermediate.Dispose();
            }
        }
    }

    /// <summary>The peer's leaf (null if it sent none) and, into <paramref name="intermediates"/>, the rest it sent.</summary>
    private X509Certificate2? PeerCertificates(X509Certificate2Collection intermediates)
    {
        nint leaf = OpenSsl.SSL_get1_peer_certificate(_ssl);
        if (leaf == 0)
        {
            return null;
        }
        X509Certificate2 managed;
        try
        {
            managed = ToManaged(leaf);
        }
        finally
        {
            OpenSsl.X509_free(leaf);
        }
        nint stack = OpenSsl.SSL_get_peer_cert_chain(_ssl);
        int count = stack == 0 ? 0 : OpenSsl.OPENSSL_sk_num(stack);
        // A client's view of the chain starts with the server's leaf; a server's view leaves the leaf out.
        for (int i = _isServer ? 0 : 1; i < count; i++)
        {
            intermediates.Add(ToManaged(OpenSsl.OPENSSL_sk_value(stack, i)));
        }
        return managed;
    }

    private static unsafe X509Certificate2 ToManaged(nint x509)
    {
        int length = OpenSsl.i2d_X509(x509, null);
        if (length <= 0)
        {
            throw new AuthenticationException($"HBONE TLS: the peer's certificate could not be encoded: {OpenSslError.Drain("i2d_X509 failed")}");
        }
        byte[] der = new byte[length];
        fixed (byte* start = der)
        {
            byte* p = start;
            if (OpenSsl.i2d_X509(x509, &p) != length)
            {
                throw new AuthenticationException("HBONE TLS: the peer's certificate changed length while being encoded");
            }
        }
        return X509CertificateLoader.LoadCertificate(der);
    }
}
