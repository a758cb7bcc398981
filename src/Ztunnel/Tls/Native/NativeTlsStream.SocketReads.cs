using System.Runtime.InteropServices;

namespace Ztunnel.Tls.Native;

// Whether OpenSSL's last receive drained the socket. The socket BIO makes the read(2) calls inside SSL_read; a callback
// on it sees how many bytes each one asked for and got. A read that got less than it asked for found the kernel's queue
// empty, so the next receive can wait for the poller's next event at once, as after PolledSocket.Receive's short read,
// instead of first asking OpenSSL, whose read(2) would only return EAGAIN: one syscall less per received message.
internal sealed partial class NativeTlsStream
{
    // Per thread: the callback runs inside the SSL call the same thread is making (under the stream's lock).
    [ThreadStatic]
    private static int t_socketReads;

    [ThreadStatic]
    private static bool t_lastSocketReadShort;

    private static readonly unsafe nint s_socketBioCallback =
        (nint)(delegate* unmanaged<nint, int, byte*, nuint, int, nint, int, nuint*, nint>)&OnSocketBioCall;

    /// <summary>A BIO_callback_fn_ex: notes each completed read and passes every result through unchanged.</summary>
    [UnmanagedCallersOnly]
    private static unsafe nint OnSocketBioCall(nint bio, int oper, byte* argp, nuint len, int argi, nint argl, int ret, nuint* processed)
    {
        if (oper == (OpenSsl.BIO_CB_READ | OpenSsl.BIO_CB_RETURN))
        {
            t_socketReads++;
            t_lastSocketReadShort = processed == null || *processed < len;
        }
        return ret;
    }

    /// <summary>The read(2) calls OpenSSL made on this stream's receive path (tests: one per message, no EAGAIN probes).</summary>
    internal long SocketReads { get; private set; }

    /// <summary>Watches the read(2) calls of the SSL's socket BIO (see the file's comment).</summary>
    private static void WatchSocketReads(nint socketBio) => OpenSsl.BIO_set_callback_ex(socketBio, s_socketBioCallback);
}
