using System.Net.Security;
using System.Net.Sockets;
using Ztunnel.Tls;
using Ztunnel.Tls.Native;

namespace Ztunnel.Tests.Tls.Native;

/// <summary>How the native transport ends: EOF, truncation, reset, cancellation, dispose; never a hang or a raw SocketException.</summary>
public sealed class NativeTlsStreamFailureTests : IDisposable
{
    private readonly TestPki _pki = new();
    private readonly WorkloadCertificate _clientCert;
    private readonly WorkloadCertificate _serverCert;
    private readonly NativeTlsContext _client;

    public NativeTlsStreamFailureTests()
    {
        _clientCert = _pki.Issue("client");
        _serverCert = _pki.Issue("server");
        _client = NativeTlsContext.ForClient(_clientCert, _pki.Bundle);
    }

    public void Dispose()
    {
        _client.Dispose();
        _clientCert.Dispose();
        _serverCert.Dispose();
        _pki.Dispose();
    }

    [Fact]
    public async Task Read_PeerSendsCloseNotify_ReadsDataThenEnd()
    {
        var (ours, peer, _) = await ConnectToSslStreamPeerAsync();
        await using var _ = ours;
        await peer.WriteAsync("last"u8.ToArray());
        await peer.ShutdownAsync();

        (await NativeTlsPair.ReadExactlyAsync(ours, 4)).ShouldBe("last"u8.ToArray());
        (await ReadOnceAsync(ours)).ShouldBe(0);
        await peer.DisposeAsync();
    }

    [Fact]
    public async Task Read_PeerClosesTcpBetweenRecords_ReadsDataThenEnd()
    {
        var (ours, peer, socket) = await ConnectToSslStreamPeerAsync();
        await using var _ = ours;
        await peer.WriteAsync("last"u8.ToArray());
        socket.Socket.Shutdown(SocketShutdown.Send); // FIN without close_notify, as SslStream reads it: end of stream

        (await NativeTlsPair.ReadExactlyAsync(ours, 4)).ShouldBe("last"u8.ToArray());
        (await ReadOnceAsync(ours)).ShouldBe(0);
        await peer.DisposeAsync();
    }

    [Fact]
    public async Task Read_PeerDiesInTheMiddleOfARecord_IOException()
    {
        var (ours, peer, socket) = await ConnectToSslStreamPeerAsync();
        await using var _ = ours;
        socket.CutNextWriteAfter = 100;
        await peer.WriteAsync(new byte[1000]);

        var error = await Should.ThrowAsync<IOException>(ReadOnceAsync(ours));
        error.Message.ShouldContain("in the middle of a TLS record");
        await peer.DisposeAsync();
    }

    [Fact]
    public async Task Read_PeerResets_IOExceptionNotSocketException()
    {
        var (ours, peer, socket) = await ConnectToSslStreamPeerAsync();
        await using var _ = ours;
        Task<int> pending = ReadOnceAsync(ours);
        socket.Socket.LingerState = new LingerOption(true, 0);
        socket.Socket.Dispose(); // RST

        var error = await Should.ThrowAsync<IOException>(pending);
        error.Message.ShouldContain("reset");
    }

    [Fact]
    public async Task WriteAndFlush_PeerReset_IOExceptionNotSocketException()
    {
        var (ours, peer, socket) = await ConnectToSslStreamPeerAsync();
        await using var _ = ours;
        socket.Socket.LingerState = new LingerOption(true, 0);
        socket.Socket.Dispose(); // RST

        // The first sends may still be accepted by the kernel; keep writing until the reset shows.
        await Should.ThrowAsync<IOException>(async () =>
        {
            byte[] chunk = new byte[64 * 1024];
            while (true)
            {
                await ours.WriteAsync(chunk);
                await ours.FlushAsync().WaitAsync(LoopbackTls.HangGuard);
            }
        });
    }

    [Fact]
    public async Task Read_OwnStreamDisposed_PendingReadEndsWithoutHanging()
    {
        var (ours, peer, _) = await ConnectToSslStreamPeerAsync();
        await using var __ = peer;
        Task<int> pending = ReadOnceAsync(ours);

        await ours.DisposeAsync();
        await ours.DisposeAsync(); // idempotent

        // What the HTTP/2 read loop takes for "transport closed".
        var error = await Should.ThrowAsync<Exception>(pending);
        (error is IOException or ObjectDisposedException).ShouldBeTrue(error.ToString());
        await Should.ThrowAsync<ObjectDisposedException>(async () => await ours.WriteAsync(new byte[1]));
    }

    [Fact]
    public async Task Connect_ServerNeverAnswersAndCallerCancels_OperationCanceledAndSocketClosed()
    {
        (Socket clientSocket, Socket silent) = await LoopbackTls.ConnectAsync();
        using var _ = silent;
        using var cancel = new CancellationTokenSource();
        Task<NativeTlsStream> connect = _client.ConnectAsync(clientSocket, _serverCert.Identity, cancel.Token);
        byte[] hello = new byte[5];
        (await silent.ReceiveAsync(hello).WaitAsync(LoopbackTls.HangGuard)).ShouldBeGreaterThan(0); // the ClientHello is out

        cancel.Cancel();

        await Should.ThrowAsync<OperationCanceledException>(connect.WaitAsync(LoopbackTls.HangGuard));
        // Our side closed the connection: the silent server reads the rest of the hello, then EOF.
        byte[] rest = new byte[64 * 1024];
        while (await silent.ReceiveAsync(rest).WaitAsync(LoopbackTls.HangGuard) > 0)
        {
        }
    }

    [Fact]
    public async Task Connect_PeerClosesDuringHandshake_IOExceptionDescribedAsClosedByPeer()
    {
        (Socket clientSocket, Socket server) = await LoopbackTls.ConnectAsync();
        Task<NativeTlsStream> connect = _client.ConnectAsync(clientSocket, _serverCert.Identity);
        byte[] hello = new byte[5];
        (await server.ReceiveAsync(hello).WaitAsync(LoopbackTls.HangGuard)).ShouldBeGreaterThan(0);

        server.Dispose();

        var error = await Should.ThrowAsync<IOException>(connect.WaitAsync(LoopbackTls.HangGuard));
        HboneTls.DescribeFailure(error).ShouldStartWith("TLS connection closed by the peer: ");
    }

    /// <summary>Our client, connected to an SslStream server (whose socket stream can truncate or reset).</summary>
    private async Task<(NativeTlsStream Ours, SslStream Peer, TruncatingStream PeerSocket)> ConnectToSslStreamPeerAsync()
    {
        (Socket clientSocket, Socket serverSocket) = await LoopbackTls.ConnectAsync();
        var peerSocket = new TruncatingStream(serverSocket);
        var peer = new SslStream(peerSocket);
        Task<NativeTlsStream> ours = _client.ConnectAsync(clientSocket, _serverCert.Identity);
        await peer.AuthenticateAsServerAsync(HboneTls.ServerOptions(_serverCert, _pki.Bundle)).WaitAsync(LoopbackTls.HangGuard);
        return (await ours.WaitAsync(LoopbackTls.HangGuard), peer, peerSocket);
    }

    private static Task<int> ReadOnceAsync(Stream stream) => stream.ReadAsync(new byte[64 * 1024]).AsTask().WaitAsync(LoopbackTls.HangGuard);
}
