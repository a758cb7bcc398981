using System.Net.Security;
using System.Runtime.InteropServices;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Ztunnel.Sockets;
namespace Ztunnel.Tls.Native;

// The handshake, with the peer's certificate checked inside it (exactly as SslStream's callback did), then ALPN.
internal sealed partial class NativeTlsStream
{
    /// <summary>
    /// The stream whose SSL_do_handshake runs on this thread. OpenSSL calls <see cref="VerifyPeerDuringHandshake"/>
    /// from inside that call, on this thread, and a TLS 1.3 SSL with no post-handshake authentication calls
    /// it nowhere else; this is how the callback finds its connection without a handle per connection.
    /// </summary>
    [ThreadStatic]
    private static NativeTlsStream? t_handshaking;

    private NativeTlsContext? _handshakeContext;
    private PeerCertificateValidator? _validator;
    private Exception? _refusal; // why one of our callbacks refused the handshake, thrown once OpenSSL's alert is out

    internal const string NoAlpnFromClient = "HBONE TLS handshake failed: the client offered no ALPN protocol (HBONE requires h2)";

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
        stream._handshakeContext = context;
        stream._validator = validator;
        try
        {
            await stream.RunHandshakeAsync(cancellationToken).ConfigureAwait(false);
            bool h2 = stream.AgreedOnH2();
            stream.RecordNegotiated();
            stream.StartRecordLayer();
            if (!h2)
            {
                stream.RefuseWithoutH2();
            }
            return stream;
        }
        catch
        {
            // A peer refused during the handshake has had OpenSSL's alert (bad_certificate; certificate_required or
            // no_application_protocol for a client); a server refused after it (it selected no ALPN) has had ours.
            await stream.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        finally
        {
            stream._handshakeContext = null;
            stream._validator = null;
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
            int result;
            t_handshaking = this;
            try
            {
                result = OpenSsl.SSL_do_handshake(_ssl);
            }
            finally
            {
                t_handshaking = null;
            }
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
                case OpenSsl.SSL_ERROR_SSL when _refusal is not null:
                    OpenSsl.ERR_clear_error(); // e.g. "certificate verify failed": ours, said better by the reason
                    return _refusal;
                case OpenSsl.SSL_ERROR_SSL when OpenSslError.PeekLastReason() == OpenSsl.SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE:
                    OpenSsl.ERR_clear_error();
                    return RejectionOf(certificate: null, chain: null, SslPolicyErrors.RemoteCertificateNotAvailable);
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

    // RFC 7301 §3.2, DESIGN §4: HBONE is HTTP/2; a peer that did not agree on h2 is refused. (A server refuses a
    // client that offered no h2 during the handshake already, in its ClientHello and ALPN callbacks, with an alert.)
    private unsafe bool AgreedOnH2()
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
                return true;
            }
            return false;
        }
    }

    /// <summary>
    /// A server that ignored our ALPN (it selected none) finished its handshake: it is told with the alert a server
    /// of ours sends a client without h2 (no_application_protocol), sealed by our record layer, and the handshake fails.
    /// </summary>
    private void RefuseWithoutH2()
    {
        lock (_lock)
        {
            ThrowIfDisposedLocked();
            SendFatalAlertLocked(TlsAlert.NoApplicationProtocol);
        }
        throw new TlsNegotiationException(_isServer
            ? NoAlpnFromClient // refused in the ClientHello already (NativeTlsContext.RequireAlpn); kept as a guard
            : "HBONE TLS handshake failed: the server selected no ALPN protocol (HBONE requires h2)");
    }

    /// <summary>
    /// OpenSSL's certificate verification, replaced (SSL_CTX_set_cert_verify_callback) by the checks SslStream ran
    /// with our options (HboneTls): chain to the bundle roots only, EKU of the peer's role, no revocation, then the
    /// SPIFFE identity. Returning 0 makes OpenSSL fail the handshake with a bad_certificate alert, so the peer
    /// learns why; the reason (a <see cref="TlsPeerRejectedException"/>, logged as before) is thrown to our caller.
    /// </summary>
    [UnmanagedCallersOnly]
    internal static int VerifyPeerDuringHandshake(nint storeContext, nint arg)
    {
        // Fails closed: a call from anywhere but a handshake this thread is driving verifies nothing.
        int verdict = t_handshaking?.VerifyPeer(storeContext) ?? 0;
        // The checks call into OpenSSL through .NET's own shim; an error they left queued would make the
        // handshake's SSL_get_error read as a failure.
        OpenSsl.ERR_clear_error();
        if (verdict == 0)
        {
            OpenSsl.X509_STORE_CTX_set_error(storeContext, OpenSsl.X509_V_ERR_CERT_REJECTED);
        }
        return verdict;
    }

    /// <summary>For OpenSSL callbacks of the context: why the handshake running on this thread is refused.</summary>
    internal static void RefuseHandshakeInProgress(Exception reason)
    {
        if (t_handshaking is { } stream)
        {
            stream._refusal = reason;
        }
    }

    private int VerifyPeer(nint storeContext)
    {
        var intermediates = new X509Certificate2Collection();
        X509Certificate2? leaf = null;
        try
        {
            nint native = OpenSsl.X509_STORE_CTX_get0_cert(storeContext);
            nint sent = OpenSsl.X509_STORE_CTX_get0_untrusted(storeContext);
            int count = sent == 0 ? 0 : OpenSsl.OPENSSL_sk_num(sent);
            for (int i = 0; i < count; i++)
            {
                nint certificate = OpenSsl.OPENSSL_sk_value(sent, i);
                if (certificate != native)
                {
                    intermediates.Add(ToManaged(certificate));
                }
            }
            if (native == 0)
            {
                _refusal = RejectionOf(null, null, SslPolicyErrors.RemoteCertificateNotAvailable);
                return 0;
            }
            leaf = ToManaged(native);
            using (var chain = new X509Chain())
            {
                chain.ChainPolicy = _handshakeContext!.ChainPolicy();
                chain.ChainPolicy.ExtraStore.AddRange(intermediates);
                bool trusted = chain.Build(leaf);
                _validator!.Validate(this, leaf, chain, trusted ? SslPolicyErrors.None : SslPolicyErrors.RemoteCertificateChainErrors);
            }
            PeerIdentity = SpiffeCertificate.GetIdentity(leaf);
            RemoteCertificate = leaf;
            leaf = null;
            return 1;
        }
        catch (Exception e)
        {
            // Nothing may unwind into OpenSSL: the reason waits for StepHandshake.
            _refusal = e;
            return 0;
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

    /// <summary>The validator's verdict on a peer it refuses, as the exception it throws (and logs).</summary>
    private Exception RejectionOf(X509Certificate2? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        try
        {
            _validator!.Validate(this, certificate, chain, errors);
            return new TlsPeerRejectedException("the peer's certificate was refused"); // not reached: it throws
        }
        catch (Exception e)
        {
            return e;
        }
    }

    /// <summary>What was negotiated; and, as a last guard, that the peer's certificate was verified at all.</summary>
    private void RecordNegotiated()
    {
        lock (_lock)
        {
            ThrowIfDisposedLocked();
#pragma warning disable CA5397 // Reporting the negotiated version (the context allows TLS 1.3 only), not choosing one.
            SslProtocol = OpenSsl.SSL_version(_ssl) == OpenSsl.TLS1_3_VERSION ? SslProtocols.Tls13 : SslProtocols.None;
#pragma warning restore CA5397
            NegotiatedCipherSuite = (TlsCipherSuite)OpenSsl.SSL_CIPHER_get_protocol_id(OpenSsl.SSL_get_current_cipher(_ssl));
        }
        if (RemoteCertificate is null)
        {
            throw RejectionOf(null, null, SslPolicyErrors.RemoteCertificateNotAvailable);
        }
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
