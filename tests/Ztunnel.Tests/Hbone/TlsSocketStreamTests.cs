using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using Ztunnel.Hbone;
using Ztunnel.Tests.Tls;
using Ztunnel.Tls;

namespace Ztunnel.Tests.Hbone;

public sealed class TlsSocketStreamTests
{
    private static readonly TimeSpan HangGuard = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task MutualTls_OverTheStreamOnBothEnds_CarriesBulkDataIntactBothWays()
    {
        using var pki = new TestPki();
        var (clientSocket, serverSocket) = await ConnectedPairAsync();
        var clientTransport = new TlsSocketStream(clientSocket);
        var serverTransport = new TlsSocketStream(serverSocket);
        await using var client = new SslStream(clientTransport);
        await using var server = new SslStream(serverTransport);
        var serverId = TestPki.Id("server");
        await Task.WhenAll(
            client.AuthenticateAsClientAsync(HboneTls.ClientOptions(pki.Issue("client"), pki.Bundle, serverId)),
            server.AuthenticateAsServerAsync(HboneTls.ServerOptions(pki.Issue(serverId), pki.Bundle))).WaitAsync(HangGuard);
        clientTransport.CoalesceWrites = true;
        serverTransport.CoalesceWrites = true;

        byte[] up = RandomNumberGenerator.GetBytes(5 * 1024 * 1024 + 17);
        byte[] down = RandomNumberGenerator.GetBytes(3 * 1024 * 1024 + 5);
        Task<byte[]> serverReceived = ReadExactlyAsync(server, up.Length);
        Task<byte[]> clientReceived = ReadExactlyAsync(client, down.Length);
        // Odd write sizes, a flush after each batch (what the HTTP/2 write path does).
        Task sendUp = WriteInBatchesAsync(client, up, 70_001);
        Task sendDown = WriteInBatchesAsync(server, down, 3_333);
        await Task.WhenAll(sendUp, sendDown).WaitAsync(HangGuard);

        (await serverReceived.WaitAsync(HangGuard)).ShouldBe(up);
        (await clientReceived.WaitAsync(HangGuard)).ShouldBe(down);
    }

    [Fact]
    public async Task CoalescedWrites_StayUnsentUntilFlush()
    {
        var (a, b) = await ConnectedPairAsync();
        using var writer = new TlsSocketStream(a) { CoalesceWrites = true };
        using var reader = b;
        await writer.WriteAsync("hello "u8.ToArray());
        await writer.WriteAsync("world"u8.ToArray());

        reader.Available.ShouldBe(0);
        await writer.FlushAsync();
        byte[] got = new byte[11];
        int n = 0;
        while (n < got.Length)
        {
            n += await reader.ReceiveAsync(got.AsMemory(n)).AsTask().WaitAsync(HangGuard);
        }
        got.ShouldBe("hello world"u8.ToArray());
    }

    [Fact]
    public async Task Reads_ServeSmallReadsAndZeroByteReadsFromOneReceive_AndEndWithZeroAtTheFin()
    {
        var (a, b) = await ConnectedPairAsync();
        using var sender = a;
        using var stream = new TlsSocketStream(b);
        byte[] data = RandomNumberGenerator.GetBytes(40_000);
        await sender.SendAsync(data);
        sender.Shutdown(SocketShutdown.Send);

        var received = new MemoryStream();
        byte[] small = new byte[1000];
        while (true)
        {
            // A zero-byte read first, as SslStream does before each read.
            (await stream.ReadAsync(Memory<byte>.Empty).AsTask().WaitAsync(HangGuard)).ShouldBe(0);
            int n = await stream.ReadAsync(small).AsTask().WaitAsync(HangGuard);
            if (n == 0)
            {
                break;
            }
            received.Write(small, 0, n);
        }
        received.ToArray().ShouldBe(data);
    }

    [Fact]
    public async Task PeerReset_SendAndReceiveFailAsIOException_LikeNetworkStream()
    {
        // The HTTP/2 loops treat IOException as "transport gone"; a raw SocketException from a flush (where the
        // batches are sent) once left a drained connection hanging until the drain deadline.
        var (a, b) = await ConnectedPairAsync();
        using var stream = new TlsSocketStream(a) { CoalesceWrites = true };
        b.LingerState = new LingerOption(true, 0);
        b.Dispose(); // RST

        var receive = await Should.ThrowAsync<IOException>(async () => await stream.ReadAsync(new byte[16]).AsTask().WaitAsync(HangGuard));
        receive.InnerException.ShouldBeOfType<SocketException>();
        var send = await Should.ThrowAsync<IOException>(async () =>
        {
            // The first sends after the reset may still be accepted by the kernel; a later one fails.
            for (int i = 0; i < 1000; i++)
            {
                await stream.WriteAsync(new byte[16 * 1024]);
                await stream.FlushAsync().WaitAsync(HangGuard);
            }
        });
        send.InnerException.ShouldBeOfType<SocketException>();
    }

    private static async Task WriteInBatchesAsync(Stream stream, byte[] data, int chunk)
    {
        for (int offset = 0; offset < data.Length; offset += chunk)
        {
            await stream.WriteAsync(data.AsMemory(offset, Math.Min(chunk, data.Length - offset)));
            if ((offset / chunk) % 3 == 2)
            {
                await stream.FlushAsync();
            }
        }
        await stream.FlushAsync();
    }

    private static async Task<byte[]> ReadExactlyAsync(Stream stream, int length)
    {
        byte[] buffer = new byte[length];
        await stream.ReadExactlyAsync(buffer);
        return buffer;
    }

    private static async Task<(Socket Client, Socket Server)> ConnectedPairAsync()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen();
        var client = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        Task<Socket> accept = listener.AcceptAsync();
        await client.ConnectAsync(listener.LocalEndPoint!);
        return (client, await accept.WaitAsync(HangGuard));
    }
}
