using System.Runtime.InteropServices;

namespace Ztunnel.Tls.Native;

/// <summary>
/// The libssl calls the HBONE TLS transport makes, and nothing else. libssl.so.3 is the same library the
/// .NET runtime loads for its own crypto, so both share one OpenSSL in the process. Macros of ssl.h
/// (SSL_CTX_set_min_proto_version, SSL_CTX_set_mode, ...) are SSL_CTX_ctrl calls; their constants keep
/// the header names so grep finds them.
/// </summary>
internal static partial class OpenSsl
{
    private const string Ssl = "libssl.so.3";

#pragma warning disable IDE1006 // Names as in <openssl/ssl.h> and <openssl/tls1.h>, so grep finds them.
    public const int TLS1_3_VERSION = 0x0304;

    public const int SSL_CTRL_MODE = 33;
    public const int SSL_CTRL_SET_SESS_CACHE_MODE = 44;
    public const int SSL_CTRL_CHAIN_CERT = 89;
    public const int SSL_CTRL_SET_MIN_PROTO_VERSION = 123;
    public const int SSL_CTRL_SET_MAX_PROTO_VERSION = 124;

    public const long SSL_MODE_ENABLE_PARTIAL_WRITE = 0x1;
    public const long SSL_MODE_RELEASE_BUFFERS = 0x10;
    public const long SSL_SESS_CACHE_OFF = 0;

    public const ulong SSL_OP_NO_COMPRESSION = 1UL << 17;
    public const ulong SSL_OP_NO_TICKET = 1UL << 14;
    public const ulong SSL_OP_NO_RENEGOTIATION = 1UL << 30;
    public const ulong SSL_OP_CIPHER_SERVER_PREFERENCE = 1UL << 22;

    public const int SSL_VERIFY_PEER = 0x01;
    public const int SSL_VERIFY_FAIL_IF_NO_PEER_CERT = 0x02;

    public const int SSL_ERROR_NONE = 0;
    public const int SSL_ERROR_SSL = 1;
    public const int SSL_ERROR_WANT_READ = 2;
    public const int SSL_ERROR_WANT_WRITE = 3;
    public const int SSL_ERROR_SYSCALL = 5;
    public const int SSL_ERROR_ZERO_RETURN = 6;

    public const int SSL_CLIENT_HELLO_ERROR = 0;
    public const int SSL_CLIENT_HELLO_SUCCESS = 1;
    public const int SSL_AD_NO_APPLICATION_PROTOCOL = 120;
    public const uint TLSEXT_TYPE_application_layer_protocol_negotiation = 16;

    public const int SSL_TLSEXT_ERR_OK = 0;
    public const int SSL_TLSEXT_ERR_ALERT_FATAL = 2;
#pragma warning restore IDE1006

    [LibraryImport(Ssl)]
    public static partial nint TLS_method();

    [LibraryImport(Ssl)]
    public static partial SafeSslContextHandle SSL_CTX_new(nint method);

    [LibraryImport(Ssl)]
    public static partial void SSL_CTX_free(nint ctx);

    [LibraryImport(Ssl)]
    public static partial long SSL_CTX_ctrl(SafeSslContextHandle ctx, int cmd, long larg, nint parg);

    [LibraryImport(Ssl)]
    public static partial ulong SSL_CTX_set_options(SafeSslContextHandle ctx, ulong options);

    [LibraryImport(Ssl, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int SSL_CTX_set_ciphersuites(SafeSslContextHandle ctx, string suites);

    [LibraryImport(Ssl)]
    public static partial int SSL_CTX_set_num_tickets(SafeSslContextHandle ctx, nuint tickets);


    /// <summary>Returns 0 on success (unlike most of libssl).</summary>
    [LibraryImport(Ssl)]
    public static unsafe partial int SSL_CTX_set_alpn_protos(SafeSslContextHandle ctx, byte* protos, uint length);

    [LibraryImport(Ssl)]
    public static unsafe partial void SSL_CTX_set_alpn_select_cb(
        SafeSslContextHandle ctx, delegate* unmanaged<nint, byte**, byte*, byte*, uint, nint, int> callback, nint arg);

    [LibraryImport(Ssl)]
    public static unsafe partial void SSL_CTX_set_client_hello_cb(SafeSslContextHandle ctx, delegate* unmanaged<nint, int*, nint, int> callback, nint arg);

    /// <summary>Inside the client hello callback: 1 when the ClientHello carries extension <paramref name="type"/>.</summary>
    [LibraryImport(Ssl)]
    public static unsafe partial int SSL_client_hello_get0_ext(nint ssl, uint type, byte** data, nuint* length);

    [LibraryImport(Ssl)]
    public static unsafe partial void SSL_CTX_set_verify(SafeSslContextHandle ctx, int mode, delegate* unmanaged<int, nint, int> callback);

    /// <summary>
    /// Called with each secret the handshake derives, as an NSS key log line (<c>CLIENT_TRAFFIC_SECRET_0 &lt;client
    /// random&gt; &lt;secret&gt;</c>, hex): how our record layer gets the application traffic secrets.
    /// </summary>
    [LibraryImport(Ssl)]
    public static unsafe partial void SSL_CTX_set_keylog_callback(SafeSslContextHandle ctx, delegate* unmanaged<nint, byte*, void> callback);

    [LibraryImport(Ssl)]
    public static unsafe partial void SSL_CTX_set_cert_verify_callback(SafeSslContextHandle ctx, delegate* unmanaged<nint, nint, int> callback, nint arg);

    [LibraryImport(Ssl)]
    public static partial int SSL_CTX_use_certificate(SafeSslContextHandle ctx, nint x509);

    [LibraryImport(Ssl)]
    public static partial int SSL_CTX_use_PrivateKey(SafeSslContextHandle ctx, nint pkey);

    [LibraryImport(Ssl)]
    public static partial int SSL_CTX_check_private_key(SafeSslContextHandle ctx);

    [LibraryImport(Ssl)]
    public static partial SafeSslHandle SSL_new(SafeSslContextHandle ctx);

    [LibraryImport(Ssl)]
    public static partial void SSL_free(nint ssl);

    [LibraryImport(Ssl)]
    public static partial void SSL_set_connect_state(SafeSslHandle ssl);

    [LibraryImport(Ssl)]
    public static partial void SSL_set_accept_state(SafeSslHandle ssl);

    /// <summary>Takes over one reference to <paramref name="bio"/> (the caller's must be up-ref'd first).</summary>
    [LibraryImport(Ssl)]
    public static partial void SSL_set0_rbio(SafeSslHandle ssl, nint bio);

    /// <summary>Takes over one reference to <paramref name="bio"/> (the caller's must be up-ref'd first).</summary>
    [LibraryImport(Ssl)]
    public static partial void SSL_set0_wbio(SafeSslHandle ssl, nint bio);

    [LibraryImport(Ssl, SetLastError = true)]
    public static partial int SSL_do_handshake(SafeSslHandle ssl);




    [LibraryImport(Ssl)]
    public static partial int SSL_get_error(SafeSslHandle ssl, int ret);

    [LibraryImport(Ssl)]
    public static partial int SSL_has_pending(SafeSslHandle ssl);



    [LibraryImport(Ssl)]
    public static unsafe partial void SSL_get0_alpn_selected(SafeSslHandle ssl, byte** data, out uint length);

    [LibraryImport(Ssl)]
    public static partial int SSL_version(SafeSslHandle ssl);

    [LibraryImport(Ssl)]
    public static partial nint SSL_get_current_cipher(SafeSslHandle ssl);

    [LibraryImport(Ssl)]
    public static partial ushort SSL_CIPHER_get_protocol_id(nint cipher);
}
