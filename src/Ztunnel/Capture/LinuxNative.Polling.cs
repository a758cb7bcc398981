using System.Buffers;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Ztunnel.Capture;

// The calls behind Sockets/SocketPoller and Sockets/PolledSocket: epoll, and a connect, send and receive that
// never wait and say which of "done", "not now" and "failed" happened (failures as SocketException, named as
// System.Net.Sockets names them, so callers handle them as before).
internal static partial class LinuxNative
{
#pragma warning disable IDE1006 // Names as in <sys/epoll.h> and <errno.h>.
    public const uint EPOLLIN = 0x001;
    public const uint EPOLLOUT = 0x004;
    public const uint EPOLLERR = 0x008;
    public const uint EPOLLHUP = 0x010;
    public const uint EPOLLRDHUP = 0x2000;
    public const uint EPOLLET = 0x80000000;
    private const int EPOLL_CLOEXEC = 0x80000;
    private const int EPOLL_CTL_ADD = 1;
    private const int EINPROGRESS = 115;
    private const int EALREADY = 114;
    private const int EISCONN = 106;
    private const int F_GETFL = 3;
    private const int F_SETFL = 4;
    private const int O_NONBLOCK = 0x800;
#pragma warning restore IDE1006

    /// <summary>
    /// struct epoll_event as x86-64 lays it out (packed: 12 bytes; other architectures pad it to 16). The data word
    /// carries the registration's id, never a pointer, so an event that outlives its socket finds nothing.
    /// </summary>
    [StructLayout(LayoutKind.Sequential, Pack = 4)]
    public struct EpollEvent
    {
        public uint Events;
        public ulong Data;
    }

    /// <summary>A new epoll instance (close-on-exec).</summary>
    public static int EpollCreate()
    {
        int fd = epoll_create1(EPOLL_CLOEXEC);
        return fd >= 0 ? fd : throw new SocketException((int)ToSocketError(Marshal.GetLastPInvokeError()));
    }

    /// <summary>Adds <paramref name="socket"/> to <paramref name="epoll"/> for <paramref name="events"/>, tagged <paramref name="id"/>.</summary>
    public static unsafe void EpollAdd(int epoll, SafeHandle socket, uint events, ulong id)
    {
        var request = new EpollEvent { Events = events, Data = id };
        bool added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            if (epoll_ctl(epoll, EPOLL_CTL_ADD, (int)socket.DangerousGetHandle(), &request) != 0)
            {
                throw new SocketException((int)ToSocketError(Marshal.GetLastPInvokeError()));
            }
        }
        finally
        {
            if (added)
            {
                socket.DangerousRelease();
            }
        }
    }

    /// <summary>Waits for events without a timeout: how many were stored, or -1 when a signal interrupted the wait.</summary>
    public static unsafe int EpollWait(int epoll, Span<EpollEvent> events)
    {
        fixed (EpollEvent* p = events)
        {
            int count = epoll_wait(epoll, p, events.Length, -1);
            if (count >= 0)
            {
                return count;
            }
            int errno = Marshal.GetLastPInvokeError();
            return errno == EINTR ? -1 : throw new SocketException((int)ToSocketError(errno));
        }
    }

    /// <summary>
    /// Sets O_NONBLOCK on <paramref name="socket"/> with fcntl(2). Socket.Blocking = false would do it too, but it
    /// first builds the runtime's per-socket async context (224 bytes, kept for the socket's life), which a socket
    /// the daemon's own poller drives never uses.
    /// </summary>
    public static void SetNonBlocking(SafeHandle socket)
    {
        int flags = fcntl(socket, F_GETFL, 0);
        if (flags < 0 || ((flags & O_NONBLOCK) == 0 && fcntl(socket, F_SETFL, flags | O_NONBLOCK) < 0))
        {
            throw new SocketException((int)ToSocketError(Marshal.GetLastPInvokeError()));
        }
    }

    /// <summary>
    /// connect(2) on a non-blocking socket: true when connected, false while the connection is still being made
    /// (call again once the socket is writable: the second call reports the outcome). A refused or failed
    /// connection throws.
    /// </summary>
    public static unsafe bool ConnectNoWait(SafeHandle socket, IPEndPoint target)
    {
        SocketAddress address = target.Serialize(); // the native sockaddr_in / sockaddr_in6 bytes
        ReadOnlySpan<byte> bytes = address.Buffer.Span[..address.Size];
        bool added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            fixed (byte* p = bytes)
            {
                if (connect((int)socket.DangerousGetHandle(), p, (uint)bytes.Length) == 0)
                {
                    return true;
                }
            }
            int errno = Marshal.GetLastPInvokeError();
            return errno switch
            {
                EISCONN => true,
                EINPROGRESS or EALREADY or EINTR => false, // an interrupted connect goes on in the background
                _ => throw new SocketException((int)ToSocketError(errno)),
            };
        }
        finally
        {
            if (added)
            {
                socket.DangerousRelease();
            }
        }
    }

    /// <summary>One send(2) that never waits: the bytes the kernel took (maybe fewer), or -1 for a full socket buffer. Failures throw.</summary>
    public static unsafe int Send(SafeHandle socket, ReadOnlySpan<byte> data)
    {
        bool added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            fixed (byte* p = data)
            {
                while (true)
                {
                    nint sent = send((int)socket.DangerousGetHandle(), p, (nuint)data.Length, MSG_DONTWAIT | MSG_NOSIGNAL);
                    if (sent >= 0)
                    {
                        return (int)sent;
                    }
                    if (SendFailed(Marshal.GetLastPInvokeError()))
                    {
                        return -1;
                    }
                }
            }
        }
        finally
        {
            if (added)
            {
                socket.DangerousRelease();
            }
        }
    }

    /// <summary><see cref="Send(SafeHandle, ReadOnlySpan{byte})"/> for a chunk in several buffers: one sendmsg(2) (see <see cref="SendNoWait(SafeHandle, in ReadOnlySequence{byte})"/>).</summary>
    public static int Send(SafeHandle socket, in ReadOnlySequence<byte> data)
    {
        while (true)
        {
            int sent = SendNoWait(socket, data);
            if (sent >= 0)
            {
                return sent;
            }
            if (SendFailed(Marshal.GetLastPInvokeError()))
            {
                return -1;
            }
        }
    }

    /// <summary>After a failed send: true for a full buffer, false to retry (EINTR); anything else throws.</summary>
    private static bool SendFailed(int errno) => errno switch
    {
        EAGAIN => true,
        EINTR => false,
        _ => throw new SocketException((int)ToSocketError(errno)),
    };

    [LibraryImport("libc", SetLastError = true)]
    private static partial int epoll_create1(int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int fcntl(SafeHandle fd, int command, int argument); // the marshaller holds the handle for the call

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int epoll_ctl(int epoll, int op, int fd, EpollEvent* events);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int epoll_wait(int epoll, EpollEvent* events, int maxEvents, int timeout);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int connect(int fd, byte* address, uint length);
}
