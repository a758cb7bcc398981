using System.Collections.Concurrent;
using Ztunnel.Capture;

namespace Ztunnel.Sockets;

/// <summary>
/// The daemon's own epoll loop for the sockets that carry traffic (the app side of a relay, the HBONE TCP
/// connection). One thread waits for readiness events and completes the waiters of <see cref="PolledSocket"/>.
/// </summary>
/// <remarks>
/// <para>
/// Why not System.Net.Sockets' engine: there, waiting for data is a zero-byte receive, which first tries a
/// one-byte <c>recv(MSG_PEEK)</c> that returns EAGAIN before the operation is queued: one more syscall per
/// message and direction, plus an operation queue, a lock and an event-args object per socket on the way in
/// and out. Here a socket is registered once, edge-triggered, and a wait is a counter comparison: after a
/// receive that came back short or empty, the next wait costs no syscall at all.
/// </para>
/// <para>
/// A socket registered here must never be used with Socket's own async methods (that would register it with
/// the runtime's engine too, and both threads would wake for every event); <see cref="PolledSocket"/> offers
/// what the data path needs (connect, send, receive, wait) and listeners stay with the runtime's engine.
/// </para>
/// </remarks>
internal sealed class SocketPoller
{
    /// <summary>
    /// The same switch as the runtime's socket engine (RuntimeTuning sets it for the daemon): continuations run on
    /// the poller's thread instead of a thread-pool worker. Read once, when the poller starts.
    /// </summary>
    private const string InlineCompletionsVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    private const int EventsPerWait = 256;

    private static readonly Lazy<SocketPoller> s_shared = new(() => new SocketPoller(), LazyThreadSafetyMode.ExecutionAndPublication);

    private readonly int _epoll;
    private readonly ConcurrentDictionary<ulong, PolledSocket> _sockets = new();
    private long _lastId;

    private SocketPoller()
    {
        string? inline = Environment.GetEnvironmentVariable(InlineCompletionsVariable);
        InlineCompletions = inline is "1" || string.Equals(inline, "true", StringComparison.OrdinalIgnoreCase);
        _epoll = LinuxNative.EpollCreate();
        var thread = new Thread(Run) { IsBackground = true, Name = "Ztunnel poller" };
        thread.UnsafeStart();
    }

    public static SocketPoller Shared => s_shared.Value;

    /// <summary>Readiness continuations run on the poller's thread (see <see cref="InlineCompletionsVariable"/>).</summary>
    public bool InlineCompletions { get; }

    /// <summary>Registers <paramref name="socket"/> for both directions, edge-triggered; returns its id.</summary>
    internal ulong Add(PolledSocket socket)
    {
        ulong id = (ulong)Interlocked.Increment(ref _lastId);
        _sockets[id] = socket;
        try
        {
            LinuxNative.EpollAdd(_epoll, socket.Socket.SafeHandle,
                LinuxNative.EPOLLIN | LinuxNative.EPOLLOUT | LinuxNative.EPOLLRDHUP | LinuxNative.EPOLLET, id);
        }
        catch
        {
            _sockets.TryRemove(id, out _);
            throw;
        }
        return id;
    }

    /// <summary>
    /// Forgets a socket that is about to be closed (closing its fd takes it out of the epoll set). Events already
    /// fetched for it find nothing, and an fd number the kernel hands out again gets a new id.
    /// </summary>
    internal void Remove(ulong id) => _sockets.TryRemove(id, out _);

    private void Run()
    {
        var events = new LinuxNative.EpollEvent[EventsPerWait];
        while (true)
        {
            int count;
            try
            {
                count = LinuxNative.EpollWait(_epoll, events);
            }
            catch (Exception e)
            {
                // Only a bad epoll fd or a bad buffer gets here: every socket's traffic would stop silently.
                Environment.FailFast($"Ztunnel poller: epoll_wait failed: {e.Message}", e);
                return;
            }
            for (int i = 0; i < count; i++)
            {
                if (_sockets.TryGetValue(events[i].Data, out PolledSocket? socket))
                {
                    socket.OnEvents(events[i].Events, InlineCompletions);
                }
            }
        }
    }
}
