using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using Microsoft.Win32.SafeHandles;

namespace Ztunnel.Capture;

/// <summary>
/// Runs socket-creating code inside a pod's network namespace on one dedicated thread (DESIGN §3); the
/// per-connection connecting sockets are made on the caller's thread (see <see cref="CreateConnectingSocketAsync"/>).
/// A socket belongs to the netns it was created in for its whole life, so the sockets made here can
/// then be used with ordinary async I/O from any thread.
/// </summary>
/// <remarks>
/// setns(CLONE_NEWNET) changes the calling thread only. The thread saves its own
/// <c>/proc/thread-self/ns/net</c> at start, enters the target for each piece of work, and goes back
/// before completing the caller's task. Callbacks must be synchronous and must not start threads or
/// queue thread-pool work: a thread created from inside a pod netns would be born there.
/// </remarks>
internal sealed class NetnsRunner : IDisposable
{
    private const string HomeNamespace = "/proc/thread-self/ns/net";

    // The process's own netns (its main thread never leaves it): where a calling thread returns to after
    // creating a connecting socket in a pod (see CreateConnectingSocketAsync).
    private const string ProcessNamespace = "/proc/self/ns/net";

    private readonly BlockingCollection<Work> _work = new();
    private readonly Thread _thread;
    private readonly SafeFileHandle? _processNamespace;
    private volatile bool _disposed;

    public NetnsRunner()
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = "ztunnel-netns" };
        _thread.Start();
        try
        {
            _processNamespace = LinuxNative.OpenNamespace(ProcessNamespace);
        }
        catch (CaptureException)
        {
            // No /proc (not Linux): connecting sockets go through the runner thread, which reports the error.
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> with the runner thread inside the network namespace at
    /// <paramref name="netnsPath"/> (<c>/var/run/netns/NAME</c>, <c>/proc/PID/ns/net</c>). A bad path
    /// fails the task with a <see cref="CaptureException"/> naming it; the action's own exception is passed on.
    /// </summary>
    public Task<T> RunAsync<T>(string netnsPath, Func<T> action)
    {
        // Completed only after the thread is home again, and continuations go to the thread pool: the
        // pool may start a new worker from the thread that queues work, and it must not be born in a pod.
        var completion = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        T? result = default;
        Post(new Work(
            netnsPath,
            () => result = action(),
            error =>
            {
                if (error is null)
                {
                    completion.SetResult(result!);
                }
                else
                {
                    completion.SetException(error);
                }
            }));
        return completion.Task;
    }

    /// <summary>
    /// A listening TCP socket (backlog 1024, TCP_NODELAY for what it accepts) in the pod netns: SO_MARK <paramref name="mark"/> (0 = none)
    /// and, when <paramref name="transparent"/>, IP_TRANSPARENT so it accepts TPROXY-diverted connections
    /// whose local endpoint is the original destination. A <c>[::]</c> bind is dual-stack: one listener
    /// takes IPv4 (as <c>::ffff:a.b.c.d</c>) and IPv6 connections. With <paramref name="freebind"/> the
    /// bind succeeds on an address not yet usable (an IPv6 address still in duplicate address detection).
    /// </summary>
    public Task<Socket> CreateListenerAsync(string netnsPath, IPEndPoint bind, bool transparent, uint mark, bool freebind = false) =>
        RunAsync(netnsPath, () =>
        {
            var socket = new Socket(bind.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                if (mark != 0)
                {
                    SocketOptions.SetMark(socket, mark);
                }
                if (transparent)
                {
                    SocketOptions.SetTransparent(socket);
                }
                else if (freebind)
                {
                    SocketOptions.SetFreebind(socket);
                }
                if (bind.Address.Equals(IPAddress.IPv6Any))
                {
                    // [::] serves both families, whatever the pod's net.ipv6.bindv6only says.
                    socket.DualMode = true;
                }
                // A restarted daemon re-binds while the old listener's connections sit in TIME_WAIT.
                socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
                // Accepted sockets inherit TCP_NODELAY from the listener: one setsockopt per listener instead
                // of one per connection. A relay forwards what it read at once; Nagle would only delay it.
                socket.NoDelay = true;
                socket.Bind(bind);
                socket.Listen(InpodConfig.ListenBacklog);
                return socket;
            }
            catch (Exception ex)
            {
                socket.Dispose();
                throw ex is CaptureException
                    ? ex
                    : new CaptureException($"cannot listen on {bind} in netns '{netnsPath}': {ex.Message}", ex);
            }
        });

    /// <summary>
    /// An unconnected TCP socket in the pod netns with SO_MARK <paramref name="mark"/> (0 = none). With a
    /// <paramref name="transparentSource"/> it is IP_TRANSPARENT and bound to that address, so the peer sees
    /// the original client's IP. Given the client's port, the socket is bound now to a port the kernel
    /// picks that is never the client's own: that would give the new connection the same tuple as the
    /// client's diverted one in the pod's conntrack table, and the two would share a connmark. Given port 0,
    /// the port is left to connect() (IP_BIND_ADDRESS_NO_PORT): cheap at any connection rate, where a bind
    /// to port 0 scans the ephemeral range past every port still held in TIME_WAIT.
    /// The caller ConnectAsync's it from any thread.
    /// </summary>
    /// <remarks>
    /// Runs on the calling thread, not the runner thread: it enters the pod netns, makes the socket with
    /// plain synchronous calls (nothing in between queues thread-pool work or starts a thread, so no thread
    /// is born in the pod) and returns to the process's netns before it returns. A hop to the runner thread
    /// and back cost two context switches per proxied inbound connection.
    /// </remarks>
    public Task<Socket> CreateConnectingSocketAsync(string netnsPath, AddressFamily family, uint mark, IPEndPoint? transparentSource)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        // Disposed at once even when the work goes to the runner thread (no /proc): that opens the path itself.
        SafeFileHandle target;
        try
        {
            target = LinuxNative.OpenNamespace(netnsPath);
        }
        catch (CaptureException ex)
        {
            return Task.FromException<Socket>(ex);
        }
        using (target)
        {
            return CreateConnectingSocketAsync(target, netnsPath, family, mark, transparentSource);
        }
    }

    /// <summary>
    /// As <see cref="CreateConnectingSocketAsync(string, AddressFamily, uint, IPEndPoint?)"/>, in the namespace
    /// behind <paramref name="netns"/>, which the caller keeps open (an enrolled pod does, for its whole life): a
    /// connection then costs no open(2) and close(2) of the namespace file. <paramref name="netnsPath"/> only
    /// names it in errors (and is what the runner thread opens where there is no /proc).
    /// </summary>
    public Task<Socket> CreateConnectingSocketAsync(SafeFileHandle netns, string netnsPath, AddressFamily family, uint mark, IPEndPoint? transparentSource)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_processNamespace is null)
        {
            return RunAsync(netnsPath, () => CreateConnectingAvoidingClientPort(netnsPath, family, mark, transparentSource));
        }
        try
        {
            LinuxNative.SetNetns(netns, netnsPath);
        }
        catch (Exception ex) when (ex is CaptureException or ObjectDisposedException)
        {
            // ObjectDisposedException: the pod was removed while this connection was being set up.
            return Task.FromException<Socket>(ex is CaptureException ? ex : new CaptureException($"netns '{netnsPath}' is closed: its pod was removed", ex));
        }
        try
        {
            return Task.FromResult(CreateConnectingAvoidingClientPort(netnsPath, family, mark, transparentSource));
        }
        catch (Exception ex)
        {
            return Task.FromException<Socket>(ex);
        }
        finally
        {
            ReturnHome(_processNamespace, netnsPath);
        }
    }

    private static Socket CreateConnectingAvoidingClientPort(string netnsPath, AddressFamily family, uint mark, IPEndPoint? transparentSource)
    {
        Socket socket = CreateConnecting(netnsPath, family, mark, transparentSource);
        if (transparentSource is { Port: not 0 } && ((IPEndPoint)socket.LocalEndPoint!).Port == transparentSource.Port)
        {
            // Keep the first socket (and so its port) until the second one has another port.
            using Socket clash = socket;
            socket = CreateConnecting(netnsPath, family, mark, transparentSource);
        }
        return socket;
    }

    private static Socket CreateConnecting(string netnsPath, AddressFamily family, uint mark, IPEndPoint? transparentSource)
    {
        var socket = new Socket(family, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            if (mark != 0)
            {
                SocketOptions.SetMark(socket, mark);
            }
            if (transparentSource is not null)
            {
                SocketOptions.SetTransparent(socket);
                if (transparentSource.Port == 0)
                {
                    SocketOptions.SetBindAddressNoPort(socket);
                }
                socket.Bind(new IPEndPoint(transparentSource.Address, 0));
            }
            return socket;
        }
        catch (Exception ex)
        {
            socket.Dispose();
            throw ex is CaptureException
                ? ex
                : new CaptureException($"cannot create a socket from {transparentSource?.Address.ToString() ?? "the pod"} in netns '{netnsPath}': {ex.Message}", ex);
        }
    }

    /// <summary>Finishes queued work and stops the thread.</summary>
    public void Dispose()
    {
        _disposed = true;
        _work.CompleteAdding();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
        _work.Dispose();
        _processNamespace?.Dispose();
    }

    private void Post(Work work)
    {
        try
        {
            _work.Add(work);
        }
        catch (InvalidOperationException)
        {
            throw new ObjectDisposedException(nameof(NetnsRunner));
        }
    }

    private void Loop()
    {
        SafeFileHandle? home = null;
        CaptureException? homeError = null;
        try
        {
            home = LinuxNative.OpenNamespace(HomeNamespace);
        }
        catch (CaptureException ex)
        {
            homeError = ex;
        }
        using (home)
        {
            foreach (Work work in _work.GetConsumingEnumerable())
            {
                work.Complete(home is null ? homeError : Execute(home, work));
            }
        }
    }

    private static Exception? Execute(SafeFileHandle home, Work work)
    {
        try
        {
            using SafeFileHandle target = LinuxNative.OpenNamespace(work.NetnsPath);
            LinuxNative.SetNetns(target, work.NetnsPath);
        }
        catch (CaptureException ex)
        {
            return ex;
        }
        Exception? error = null;
        try
        {
            work.Run();
        }
        catch (Exception ex)
        {
            error = ex;
        }
        ReturnHome(home, work.NetnsPath);
        return error;
    }

    private static void ReturnHome(SafeFileHandle home, string netnsPath)
    {
        if (!LinuxNative.TrySetNetns(home, out int errno))
        {
            // A thread stuck in a pod's netns would create every later socket in the wrong place.
            Environment.FailFast($"ztunnel: cannot return a thread from '{netnsPath}' to its own namespace: {LinuxNative.Describe(errno)}");
        }
    }

    private readonly record struct Work(string NetnsPath, Action Run, Action<Exception?> Complete);
}
