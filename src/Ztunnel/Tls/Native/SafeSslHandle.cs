using Microsoft.Win32.SafeHandles;

namespace Ztunnel.Tls.Native;

/// <summary>One connection's SSL; freeing it frees the BIOs it owns (the socket BIO and its half of the pair).</summary>
internal sealed class SafeSslHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public SafeSslHandle() : base(ownsHandle: true)
    {
    }

    protected override bool ReleaseHandle()
    {
        OpenSsl.SSL_free(handle);
        return true;
    }
}
