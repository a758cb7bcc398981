using Microsoft.Win32.SafeHandles;

namespace Ztunnel.Tls.Native;

/// <summary>A BIO we hold a reference to (the network half of a connection's write pair).</summary>
internal sealed class SafeBioHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    public SafeBioHandle() : base(ownsHandle: true)
    {
    }

    public SafeBioHandle(nint bio) : base(ownsHandle: true)
    {
        SetHandle(bio);
    }

    protected override bool ReleaseHandle()
    {
        return OpenSsl.BIO_free(handle) == 1;
    }
}
