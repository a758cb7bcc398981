using System.Runtime.InteropServices;

namespace Ztunnel.Tls.Native;

// The libcrypto AEAD calls of our TLS 1.3 record layer (TlsRecordProtection): AES-GCM through EVP, the same code
// OpenSSL's own record layer runs.
internal static partial class OpenSsl
{
#pragma warning disable IDE1006 // Names as in <openssl/evp.h>.
    public const int EVP_CTRL_GCM_GET_TAG = 0x10;
    public const int EVP_CTRL_GCM_SET_TAG = 0x11;
#pragma warning restore IDE1006

    [LibraryImport(Crypto)]
    public static partial nint EVP_CIPHER_CTX_new();

    [LibraryImport(Crypto)]
    public static partial void EVP_CIPHER_CTX_free(nint context);

    [LibraryImport(Crypto)]
    public static partial nint EVP_aes_128_gcm();

    [LibraryImport(Crypto)]
    public static partial nint EVP_aes_256_gcm();

    /// <summary>
    /// Sets the cipher and key (both non-null), or only a new IV (cipher and key null, <paramref name="encrypt"/> -1:
    /// keep the direction); 1 on success.
    /// </summary>
    [LibraryImport(Crypto)]
    public static unsafe partial int EVP_CipherInit_ex(nint context, nint cipher, nint engine, byte* key, byte* iv, int encrypt);

    /// <summary>Encrypts or decrypts <paramref name="inputLength"/> bytes; with a null <paramref name="output"/>, adds them as AAD.</summary>
    [LibraryImport(Crypto)]
    public static unsafe partial int EVP_CipherUpdate(nint context, byte* output, int* outputLength, byte* input, int inputLength);

    /// <summary>Ends the message: computes the tag (encrypt), or checks the one set with EVP_CTRL_GCM_SET_TAG (decrypt: 0 if it does not match).</summary>
    [LibraryImport(Crypto)]
    public static unsafe partial int EVP_CipherFinal_ex(nint context, byte* output, int* outputLength);

    [LibraryImport(Crypto)]
    public static unsafe partial int EVP_CIPHER_CTX_ctrl(nint context, int type, int arg, void* pointer);
}
