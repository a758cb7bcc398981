using System.Runtime.InteropServices;

namespace Ztunnel.Tls.Native;

// The libcrypto half: BIOs, DER certificates and keys, the error queue.
internal static partial class OpenSsl
{
    private const string Crypto = "libcrypto.so.3";

#pragma warning disable IDE1006 // Names as in <openssl/bio.h> and <openssl/ssl.h>.
    public const int BIO_NOCLOSE = 0;
    public const int BIO_C_SET_WRITE_BUF_SIZE = 136;
    public const int BIO_C_MAKE_BIO_PAIR = 138;
    public const int BIO_C_DESTROY_BIO_PAIR = 139;

    /// <summary>ERR_GET_REASON: the low 23 bits of an error code.</summary>
    public const uint ERR_REASON_MASK = 0x7FFFFF;

    /// <summary>ssl/sslerr.h: the peer closed the TCP connection without close_notify.</summary>
    public const int SSL_R_UNEXPECTED_EOF_WHILE_READING = 294;

    /// <summary>ssl/sslerr.h: a server that requires a client certificate got none (it sent certificate_required).</summary>
    public const int SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE = 199;

    /// <summary>x509_vfy.h: the verdict a verify callback sets to refuse a chain; OpenSSL answers it with bad_certificate.</summary>
    public const int X509_V_ERR_CERT_REJECTED = 28;
#pragma warning restore IDE1006

    [LibraryImport(Crypto)]
    public static partial nint BIO_new_socket(int fd, int closeFlag);

    [LibraryImport(Crypto)]
    public static partial int BIO_new_bio_pair(out nint bio1, nuint size1, out nint bio2, nuint size2);

    [LibraryImport(Crypto)]
    public static partial int BIO_free(nint bio);


    [LibraryImport(Crypto)]
    public static partial long BIO_ctrl(nint bio, int cmd, long larg, nint parg);

    /// <summary>A bio pair: how many bytes are readable at <paramref name="data"/> (contiguous), without consuming them.</summary>
    [LibraryImport(Crypto)]
    public static unsafe partial int BIO_nread0(SafeBioHandle bio, byte** data);

    /// <summary>A bio pair: consumes <paramref name="count"/> readable bytes (no copy).</summary>
    [LibraryImport(Crypto)]
    public static unsafe partial int BIO_nread(SafeBioHandle bio, byte** data, int count);

    [LibraryImport(Crypto)]
    public static partial nuint BIO_ctrl_pending(SafeBioHandle bio);

    [LibraryImport(Crypto)]
    public static unsafe partial nint d2i_X509(nint reuse, byte** data, long length);

    [LibraryImport(Crypto)]
    public static unsafe partial int i2d_X509(nint x509, byte** output);

    [LibraryImport(Crypto)]
    public static partial void X509_free(nint x509);

    [LibraryImport(Crypto)]
    public static unsafe partial nint d2i_AutoPrivateKey(nint reuse, byte** data, long length);

    [LibraryImport(Crypto)]
    public static partial void EVP_PKEY_free(nint pkey);

    /// <summary>The peer's leaf during a verify callback; owned by the store context, do not free.</summary>
    [LibraryImport(Crypto)]
    public static partial nint X509_STORE_CTX_get0_cert(nint storeContext);

    /// <summary>Every certificate the peer sent (the leaf first) during a verify callback; owned, do not free.</summary>
    [LibraryImport(Crypto)]
    public static partial nint X509_STORE_CTX_get0_untrusted(nint storeContext);

    [LibraryImport(Crypto)]
    public static partial void X509_STORE_CTX_set_error(nint storeContext, int error);

    [LibraryImport(Crypto)]
    public static partial int OPENSSL_sk_num(nint stack);

    [LibraryImport(Crypto)]
    public static partial nint OPENSSL_sk_value(nint stack, int index);

    [LibraryImport(Crypto)]
    public static partial ulong ERR_get_error();

    [LibraryImport(Crypto)]
    public static partial ulong ERR_peek_error();

    [LibraryImport(Crypto)]
    public static partial ulong ERR_peek_last_error();

    [LibraryImport(Crypto)]
    public static partial void ERR_clear_error();

    [LibraryImport(Crypto)]
    public static unsafe partial void ERR_error_string_n(ulong error, byte* buffer, nuint length);
}
