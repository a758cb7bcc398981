using System.Buffers;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Ztunnel.Capture;

/// <summary>
/// Every libc call Ztunnel makes, in one place. Constants keep their Linux header names so a reader can
/// grep the kernel and man pages for them; errors carry errno and its text.
/// </summary>
internal static partial class LinuxNative
{
#pragma warning disable IDE1006 // Names as in the Linux headers (<sys/socket.h>, <linux/in.h>, <sched.h>), so grep finds them.
    public const int SOL_IP = 0;
    public const int SOL_SOCKET = 1;
    public const int SOL_IPV6 = 41;
    public const int SOL_TCP = 6;
    public const int TCP_CONGESTION = 13;
    public const int EPERM = 1;
    public const int ENOENT = 2;

    /// <summary>socket(7): the fwmark on every packet the socket sends; our rules skip 0x539.</summary>
    public const int SO_MARK = 36;

    /// <summary>ip(7): bind to a non-local address and accept TPROXY-diverted connections.</summary>
    public const int IP_TRANSPARENT = 19;

    /// <summary>ip(7): bind to an address that is not (yet) configured locally.</summary>
    public const int IP_FREEBIND = 15;

    /// <summary>ip(7): a bind to (ip, 0) leaves the port to connect(), which picks one unique per 4-tuple.</summary>
    public const int IP_BIND_ADDRESS_NO_PORT = 24;

    /// <summary>linux/netfilter_ipv4.h: the destination before NAT (our REDIRECT to 15001).</summary>
    public const int SO_ORIGINAL_DST = 80;

    /// <summary>linux/netfilter_ipv6/ip6_tables.h: the IPv6 twin of SO_ORIGINAL_DST, on SOL_IPV6.</summary>
    public const int IP6T_SO_ORIGINAL_DST = 80;

    public const int IPV6_TRANSPARENT = 75;
    public const int IPV6_FREEBIND = 78;

    /// <summary>sched.h: setns() namespace type for network namespaces.</summary>
    public const int CLONE_NEWNET = 0x40000000;

    private const int O_RDONLY = 0;
    private const int O_CLOEXEC = 0x80000;
#pragma warning restore IDE1006

    /// <summary>Opens a namespace file (<c>/proc/PID/ns/net</c>, <c>/var/run/netns/NAME</c>) for <see cref="SetNetns"/>.</summary>
    public static SafeFileHandle OpenNamespace(string path)
    {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
        {
            int errno = Marshal.GetLastPInvokeError();
            throw new CaptureException($"cannot open network namespace '{path}': {Describe(errno)}", errno);
        }
        return new SafeFileHandle(fd, ownsHandle: true);
    }

    /// <summary>Moves the calling thread (only this thread) into the network namespace behind <paramref name="ns"/>.</summary>
    public static void SetNetns(SafeFileHandle ns, string pathForErrors)
    {
        if (TrySetNetns(ns, out int errno))
        {
            return;
        }
        throw new CaptureException($"setns('{pathForErrors}', CLONE_NEWNET) failed: {Describe(errno)}", errno);
    }

    /// <summary>As <see cref="SetNetns"/>, without throwing (for the way back, where failure is fatal).</summary>
    public static bool TrySetNetns(SafeFileHandle ns, out int errno)
    {
        bool added = false;
        try
        {
            ns.DangerousAddRef(ref added);
            if (setns((int)ns.DangerousGetHandle(), CLONE_NEWNET) == 0)
            {
                errno = 0;
                return true;
            }
            errno = Marshal.GetLastPInvokeError();
            return false;
        }
        finally
        {
            if (added)
            {
                ns.DangerousRelease();
            }
        }
    }

    /// <summary>setsockopt(2) with an int value.</summary>
    public static unsafe void SetSocketOption(SafeHandle socket, int level, int name, int value, string what) =>
        SetSocketOption(socket, level, name, new ReadOnlySpan<byte>(&value, sizeof(int)), what);

    /// <summary>setsockopt(2) with the bytes of <paramref name="value"/> (a string option such as TCP_CONGESTION).</summary>
    public static unsafe void SetSocketOption(SafeHandle socket, int level, int name, ReadOnlySpan<byte> value, string what)
    {
        bool added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            fixed (byte* bytes = value)
            {
                if (setsockopt((int)socket.DangerousGetHandle(), level, name, bytes, (uint)value.Length) != 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    throw new CaptureException($"setsockopt({what}) failed: {Describe(errno)}", errno);
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

    /// <summary>getsockopt(2) into <paramref name="value"/>; returns the length the kernel wrote.</summary>
    public static unsafe int GetSocketOption(SafeHandle socket, int level, int name, Span<byte> value, string what)
    {
        bool added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            uint length = (uint)value.Length;
            fixed (byte* p = value)
            {
                if (getsockopt((int)socket.DangerousGetHandle(), level, name, p, &length) != 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    throw new CaptureException($"getsockopt({what}) failed: {Describe(errno)}", errno);
                }
            }
            return (int)length;
        }
        finally
        {
            if (added)
            {
                socket.DangerousRelease();
            }
        }
    }

    /// <summary>socket(2) flags: send(2) that never waits, and no SIGPIPE on a closed peer.</summary>
    private const int MSG_DONTWAIT = 0x40;
    private const int EINTR = 4;
    private const int EAGAIN = 11;
    private const int MSG_NOSIGNAL = 0x4000;

    /// <summary>
    /// One recv(2) that never waits: the bytes received (> 0), 0 at the peer's end of stream, -1 when the socket has
    /// nothing now. A failed receive (a reset) throws, as <see cref="Socket.ReceiveAsync(Memory{byte}, SocketFlags, CancellationToken)"/> would.
    /// </summary>
    public static unsafe int ReceiveNoWait(SafeHandle socket, Span<byte> buffer)
    {
        bool added = false;
        try
        {
            socket.DangerousAddRef(ref added);
            fixed (byte* p = buffer)
            {
                while (true)
                {
                    nint got = recv((int)socket.DangerousGetHandle(), p, (nuint)buffer.Length, MSG_DONTWAIT);
                    if (got >= 0)
                    {
                        return (int)got;
                    }
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == EINTR)
                    {
                        continue;
                    }
                    if (errno == EAGAIN)
                    {
                        return -1;
                    }
                    throw new SocketException((int)ToSocketError(errno));
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

    /// <summary>The errors a TCP socket's connect, send or receive can report, as System.Net.Sockets names them.</summary>
    private static SocketError ToSocketError(int errno) => errno switch
    {
        104 => SocketError.ConnectionReset,   // ECONNRESET
        110 => SocketError.TimedOut,          // ETIMEDOUT
        107 => SocketError.NotConnected,      // ENOTCONN
        32 => SocketError.Shutdown,           // EPIPE
        113 => SocketError.HostUnreachable,   // EHOSTUNREACH
        101 => SocketError.NetworkUnreachable, // ENETUNREACH
        9 => SocketError.OperationAborted,    // EBADF: closed under us
        111 => SocketError.ConnectionRefused, // ECONNREFUSED
        103 => SocketError.ConnectionAborted, // ECONNABORTED
        99 => SocketError.AddressNotAvailable, // EADDRNOTAVAIL
        98 => SocketError.AddressAlreadyInUse, // EADDRINUSE
        13 or 1 => SocketError.AccessDenied,  // EACCES, EPERM (a firewall rule)
        105 => SocketError.NoBufferSpaceAvailable, // ENOBUFS
        24 => SocketError.TooManyOpenSockets, // EMFILE
        _ => SocketError.SocketError,
    };

    /// <summary>Most pieces one <see cref="Send(SafeHandle, in ReadOnlySequence{byte})"/> gathers; later ones wait for the next call.</summary>
    public const int MaxGatheredSegments = 8;

    /// <summary>
    /// One sendmsg(2) that never waits, for bytes in several buffers (up to <see cref="MaxGatheredSegments"/> of
    /// them, an iovec each), so a chunk that spans two receive blocks leaves as one TCP send, not as a small one for
    /// the end of the first block and another. The bytes taken, or -1 with errno set.
    /// </summary>
    private static unsafe int SendNoWait(SafeHandle socket, in ReadOnlySequence<byte> data)
    {
        Iovec* vectors = stackalloc Iovec[MaxGatheredSegments];
        var pins = new PinnedSegments();
        int count = 0;
        bool added = false;
        try
        {
            foreach (ReadOnlyMemory<byte> segment in data)
            {
                if (count == MaxGatheredSegments)
                {
                    break;
                }
                if (segment.IsEmpty)
                {
                    continue;
                }
                pins[count] = segment.Pin();
                vectors[count] = new Iovec { Base = pins[count].Pointer, Length = (nuint)segment.Length };
                count++;
            }
            var message = new MessageHeader { Vectors = vectors, VectorCount = (nuint)count };
            socket.DangerousAddRef(ref added);
            return (int)sendmsg((int)socket.DangerousGetHandle(), &message, MSG_DONTWAIT | MSG_NOSIGNAL);
        }
        finally
        {
            if (added)
            {
                socket.DangerousRelease();
            }
            for (int i = 0; i < count; i++)
            {
                pins[i].Dispose();
            }
        }
    }

    /// <summary>struct iovec.</summary>
    private unsafe struct Iovec
    {
        public void* Base;
        public nuint Length;
    }

    /// <summary>struct msghdr (x86-64 / arm64 layout): no address, no control data, only the vectors.</summary>
    private unsafe struct MessageHeader
    {
        public void* Name;
        public uint NameLength;
        public Iovec* Vectors;
        public nuint VectorCount;
        public void* Control;
        public nuint ControlLength;
        public int Flags;
    }

    /// <summary>The pins of one gathered send, on the stack.</summary>
    [System.Runtime.CompilerServices.InlineArray(MaxGatheredSegments)]
    private struct PinnedSegments
    {
        private MemoryHandle _first;
    }

    /// <summary>"No such file or directory (errno 2)".</summary>
    public static string Describe(int errno) => $"{Marshal.GetPInvokeErrorMessage(errno)} (errno {errno})";

    [LibraryImport("libc", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int open(string path, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static partial int setns(int fd, int nstype);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int setsockopt(int fd, int level, int name, void* value, uint length);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint send(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint recv(int fd, byte* buffer, nuint length, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial nint sendmsg(int fd, MessageHeader* message, int flags);

    [LibraryImport("libc", SetLastError = true)]
    private static unsafe partial int getsockopt(int fd, int level, int name, void* value, uint* length);
}
