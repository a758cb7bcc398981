using System.Runtime.InteropServices;

namespace Ztunnel.Tls.Native;

// Whether OpenSSL's last receive drained the socket. The socket BIO makes the read(2) calls inside SSL_read; a callback
// on it sees how many bytes each one asked for and got. A read that got less than it asked for found the kernel's queue
// empty. If it was also small (request/response traffic), the next receive waits for the poller's next event at once,
// as after PolledSocket.Receive's short read, instead of first asking OpenSSL, whose read(2) would only return EAGAIN:
// one syscall less per received message.
internal sealed partial class NativeTlsStream
{
    /// <summary>
    /// Drained reads of fewer bytes than this make the next read wait for the poller without asking the socket first.
    /// After a bigger one (bulk transfer) more records have usually arrived while the batch was processed, and the
    /// events that announce them are not counted yet: the read loop runs on the poller's thread, which counts them only
    /// in its next epoll_wait. Waiting there costs a hand-off through the poller per batch (make bench, A/B of the change
    /// without this limit against the build before it: context switches per MB 1.13x, CPU per GB 1.07x, medians of 3
    /// rounds); asking the socket finds the records at once.
    /// </summary>
    private const int SparseReadLimit = 16 * 1024;

    // Per thread: the callback runs inside the SSL call the same thread is making (under the stream's lock).
    [ThreadStatic]
    private static int t_socketReads;

    [ThreadStatic]
    private static bool t_lastSocketReadSparse;

    private static readonly unsafe nint s_socketBioCallback =
        (nint)(delegate* unmanaged<nint, int, byte*, nuint, int, nint, int, nuint*, nint>)&OnSocketBioCall;

    /// <summary>
    /// A BIO_callback_fn_ex: notes each completed read, and whether it drained the socket after a small take (or none), and
    /// passes every result through unchanged.
    /// </summary>
    [UnmanagedCallersOnly]
    private static unsafe nint OnSocketBioCall(nint bio, int oper, byte* argp, nuint len, int argi, nint argl, int ret, nuint* processed)
    {
        if (oper == (OpenSsl.BIO_CB_READ | OpenSsl.BIO_CB_RETURN))
        {
            t_socketReads++;
            nuint taken = processed == null ? 0 : *processed;
            t_lastSocketReadSparse = taken < len && taken < SparseReadLimit;
        }
        return ret;
    }

    /// <summary>The read(2) calls OpenSSL made on this stream's receive path (tests: one per message, no EAGAIN probes).</summary>
    internal long SocketReads { get; private set; }

    /// <summary>Watches the read(2) calls of the SSL's socket BIO (see the file's comment).</summary>
    private static void WatchSocketReads(nint socketBio) => OpenSsl.BIO_set_callback_ex(socketBio, s_socketBioCallback);
}
