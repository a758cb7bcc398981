using System.Net;
using System.Net.Sockets;
using Ztunnel.Sockets;

namespace Ztunnel.Tests.Sockets;

/// <summary>The daemon's own readiness waits on real loopback TCP sockets: no lost wake-up, no hang, clean failures.</summary>
public sealed class PolledSocketTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task WaitReadable_AfterAnEmptyReceive_CompletesWhenThePeerSends()
    {
        var (polled, peer) = await PairAsync();
        using (polled)
        using (peer)
        {
            var buffer = new byte[16];
            polled.Receive(buffer).ShouldBe(-1);
            ValueTask wait = polled.WaitReadableAsync();
            wait.IsCompleted.ShouldBeFalse("nothing was sent yet");

            peer.Send("ping"u8);
            await wait.AsTask().WaitAsync(Guard);
            polled.Receive(buffer).ShouldBe(4);
        }
    }

    [Fact]
    public async Task WaitReadable_DataThatCameBeforeTheWait_IsNotWaitedFor()
    {
        var (polled, peer) = await PairAsync();
        using (polled)
        using (peer)
        {
            var buffer = new byte[16];
            polled.Receive(buffer).ShouldBe(-1);
            peer.Send("ping"u8);
            // The event may reach the poller before or after this call: either way the wait must end.
            await polled.WaitReadableAsync().AsTask().WaitAsync(Guard);
            polled.Receive(buffer).ShouldBe(4);
        }
    }

    [Fact]
    public async Task WaitReadable_SeesThePeersEndOfStream()
    {
        var (polled, peer) = await PairAsync();
        using (polled)
        {
            polled.Receive(new byte[16]).ShouldBe(-1);
            ValueTask wait = polled.WaitReadableAsync();
            peer.Shutdown(SocketShutdown.Send);
            await wait.AsTask().WaitAsync(Guard);
            polled.Receive(new byte[16]).ShouldBe(0);
            peer.Dispose();
        }
    }

    [Fact]
    public async Task WaitReadable_AfterAShortReadThatLeftTheEndBehind_DoesNotWait()
    {
        var (polled, peer) = await PairAsync();
        using (polled)
        using (peer)
        {
            // Data and FIN both arrive, and the poller has announced them, before the read: the read comes back
            // short with the end still pending, and no event will come for it again.
            peer.Send("last words"u8);
            peer.Shutdown(SocketShutdown.Send);
            SpinWait.SpinUntil(() => polled.ReadEvents > 0, Guard).ShouldBeTrue();
            var buffer = new byte[64];
            int received = 0;
            while (received < 10)
            {
                await polled.WaitReadableAsync().AsTask().WaitAsync(Guard);
                received += Math.Max(0, polled.Receive(buffer.AsSpan(received)));
            }
            await polled.WaitReadableAsync().AsTask().WaitAsync(Guard);
            polled.Receive(buffer).ShouldBe(0);
        }
    }

    [Fact]
    public async Task WaitWritable_AfterAFullBuffer_CompletesWhenThePeerReads()
    {
        var (polled, peer) = await PairAsync();
        using (polled)
        using (peer)
        {
            var chunk = new byte[256 * 1024];
            long sent = 0;
            int n;
            while ((n = polled.Send(chunk)) > 0)
            {
                sent += n;
            }
            ValueTask wait = polled.WaitWritableAsync();
            wait.IsCompleted.ShouldBeFalse("the socket buffer is full");

            Task drain = Task.Run(() =>
            {
                var sink = new byte[256 * 1024];
                long read = 0;
                while (read < sent)
                {
                    read += peer.Receive(sink);
                }
            });
            await wait.AsTask().WaitAsync(Guard);
            await drain.WaitAsync(Guard);
            polled.Send(chunk).ShouldBeGreaterThan(0);
        }
    }

    [Fact]
    public async Task Dispose_FailsAPendingWait_AsAnAbortedOperation()
    {
        var (polled, peer) = await PairAsync();
        using (peer)
        {
            polled.Receive(new byte[16]).ShouldBe(-1);
            Task wait = polled.WaitReadableAsync().AsTask();
            polled.Dispose();
            var error = await Should.ThrowAsync<SocketException>(wait.WaitAsync(Guard));
            error.SocketErrorCode.ShouldBe(SocketError.OperationAborted);
            await Should.ThrowAsync<SocketException>(polled.WaitReadableAsync().AsTask());
        }
    }

    [Fact]
    public async Task Cancellation_EndsAPendingWait_AndTheNextWaitStillWorks()
    {
        var (polled, peer) = await PairAsync();
        using (polled)
        using (peer)
        {
            polled.Receive(new byte[16]).ShouldBe(-1);
            using var cancel = new CancellationTokenSource();
            Task wait = polled.WaitReadableAsync(cancel.Token).AsTask();
            cancel.Cancel();
            await Should.ThrowAsync<OperationCanceledException>(wait.WaitAsync(Guard));

            Task next = polled.WaitReadableAsync().AsTask();
            peer.Send("x"u8);
            await next.WaitAsync(Guard);
        }
    }

    [Fact]
    public async Task Connect_ToAListener_Succeeds_ToAClosedPort_IsRefused()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        using (var polled = new PolledSocket(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp)))
        {
            KernelNonBlocking(polled.Socket).ShouldBeTrue("a connect must not block the caller");
            await polled.ConnectAsync((IPEndPoint)listener.LocalEndPoint!, CancellationToken.None).WaitAsync(Guard);
            using Socket accepted = await listener.AcceptAsync().WaitAsync(Guard);
            polled.Send("hi"u8).ShouldBe(2);
        }

        var closedPort = (IPEndPoint)listener.LocalEndPoint!;
        listener.Dispose();
        using var refused = new PolledSocket(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        var error = await Should.ThrowAsync<SocketException>(refused.ConnectAsync(closedPort, CancellationToken.None).WaitAsync(Guard));
        error.SocketErrorCode.ShouldBe(SocketError.ConnectionRefused);
    }

    [Fact]
    public async Task Connect_ToALocalClosedPort_IsRefused()
    {
        // Bound, never listening: the port answers a SYN with a reset.
        using var bound = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        bound.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var closedPort = (IPEndPoint)bound.LocalEndPoint!;
        using var refused = new PolledSocket(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        var error = await Should.ThrowAsync<SocketException>(refused.ConnectAsync(closedPort, CancellationToken.None, targetIsLocal: true).WaitAsync(Guard));
        error.SocketErrorCode.ShouldBe(SocketError.ConnectionRefused);
    }

    [Fact]
    public async Task Connect_ThatIsNeverAnswered_EndsAtTheTimeout()
    {
        // A listener whose accept queue is full drops every further SYN: the connect stays in SYN-SENT. With a
        // backlog of 0 the queue holds one connection.
        using Socket listener = Listen(backlog: 0);
        var target = (IPEndPoint)listener.LocalEndPoint!;
        using var queued = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await queued.ConnectAsync(target).WaitAsync(Guard);
        using var polled = new PolledSocket(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));

        await Should.ThrowAsync<OperationCanceledException>(
            polled.ConnectAsync(target, CancellationToken.None, targetIsLocal: true, timeout: TimeSpan.FromMilliseconds(300)).WaitAsync(Guard));
    }

    [Fact]
    public async Task Accept_TakesEveryConnectionOfABurst_ThenWaitsForTheNext()
    {
        using var listener = PolledSocket.Listening(Listen(backlog: 16));
        var endPoint = (IPEndPoint)listener.Socket.LocalEndPoint!;
        // Five connections queue before the first accept: one edge-triggered event may stand for all of them.
        var clients = new List<Socket>();
        for (int i = 0; i < 5; i++)
        {
            var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            client.Connect(endPoint);
            clients.Add(client);
        }
        var accepted = new List<Socket>();
        for (int i = 0; i < 5; i++)
        {
            accepted.Add(await listener.AcceptAsync(CancellationToken.None).AsTask().WaitAsync(Guard));
        }
        accepted.Select(a => ((IPEndPoint)a.RemoteEndPoint!).Port).Order()
            .ShouldBe(clients.Select(c => ((IPEndPoint)c.LocalEndPoint!).Port).Order());

        Task<Socket> next = listener.AcceptAsync(CancellationToken.None).AsTask();
        next.IsCompleted.ShouldBeFalse("no sixth connection was made yet");
        using var sixth = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        sixth.Connect(endPoint);
        using var last = new PolledSocket(await next.WaitAsync(Guard));
        KernelNonBlocking(last.Socket).ShouldBeTrue("a polled socket's receive must never block the poller");
        last.Receive(new byte[2]).ShouldBe(-1);
        sixth.Send("hi"u8);
        await last.WaitReadableAsync().AsTask().WaitAsync(Guard);
        last.Receive(new byte[2]).ShouldBe(2, "the accepted socket is a working connection");
        foreach (Socket s in clients.Concat(accepted))
        {
            s.Dispose();
        }
    }

    [Fact]
    public async Task Accept_Pending_FailsWhenTheListenerIsDisposed_OrEndsOnCancellation()
    {
        var listener = PolledSocket.Listening(Listen(backlog: 1));
        using var cancel = new CancellationTokenSource();
        Task<Socket> cancelled = listener.AcceptAsync(cancel.Token).AsTask();
        cancel.Cancel();
        await Should.ThrowAsync<OperationCanceledException>(cancelled.WaitAsync(Guard));

        Task<Socket> pending = listener.AcceptAsync(CancellationToken.None).AsTask();
        listener.Dispose();
        var error = await Should.ThrowAsync<SocketException>(pending.WaitAsync(Guard));
        error.SocketErrorCode.ShouldBe(SocketError.OperationAborted);
    }

    /// <summary>O_NONBLOCK as the kernel has it for the socket's fd (what the runtime thinks does not matter here).</summary>
    private static bool KernelNonBlocking(Socket socket)
    {
        string info = File.ReadAllText($"/proc/self/fdinfo/{socket.SafeHandle.DangerousGetHandle()}");
        string flags = info.Split('\n').First(line => line.StartsWith("flags:", StringComparison.Ordinal))["flags:".Length..].Trim();
        return (Convert.ToInt32(flags, 8) & 0x800) != 0; // O_NONBLOCK = 04000
    }

    private static Socket Listen(int backlog)
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(backlog);
        return listener;
    }

    /// <summary>A polled socket and its plain peer, connected over loopback.</summary>
    private static async Task<(PolledSocket Polled, Socket Peer)> PairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        var polled = new PolledSocket(new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp));
        Task<Socket> accept = listener.AcceptAsync();
        await polled.ConnectAsync((IPEndPoint)listener.LocalEndPoint!, CancellationToken.None).WaitAsync(Guard);
        return (polled, await accept.WaitAsync(Guard));
    }
}
