using Microsoft.Win32.SafeHandles;

namespace Ztunnel.Tls.Native;

/// <summary>An SSL_CTX. OpenSSL counts references: SSLs made from it keep it alive after this is released.</summary>
internal sealed class SafeSslContextHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public SafeSslContextHandle() : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle()
    {
        OpenSsl.SSL_CTX_free(handle);
        return true;
    }
}
