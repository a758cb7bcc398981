using System.Net.Security;
using System.Net.Sockets;
using Ztunnel.Tls;
using Ztunnel.Tls.Native;

namespace Ztunnel.Tests.Tls.Native;

/// <summary>
/// Real loopback TLS with our native transport on one or both sides (SslStream with HboneTls's options as
/// the independent peer otherwise). On failure each side disposes its stream, as production code does.
/// </summary>
internal static class NativeTlsPair
{
    public static async Task<(NativeTlsStream Client, NativeTlsStream Server)> ConnectAsync(
        NativeTlsContext clientContext, SpiffeId expectedServer, NativeTlsContext serverContext)
    {
        (Socket clientSocket, Socket serverSocket) = await LoopbackTls.ConnectAsync();
        Task<NativeTlsStream> client = clientContext.ConnectAsync(clientSocket, expectedServer);
        Task<NativeTlsStream> server = serverContext.AcceptAsync(serverSocket);
        await Task.WhenAll(client, server).WaitAsync(LoopbackTls.HangGuard);
        return (await client, await server);
    }

    /// <summary>Our client against an SslStream server; the server's error (if any) is in the result.</summary>
    public static async Task<(Task<NativeTlsStream> Client, Task<SslStream> Server)> ConnectToSslStreamAsync(
        NativeTlsContext clientContext, SpiffeId expectedServer, SslServerAuthenticationOptions serverOptions)
    {
        (Socket clientSocket, Socket serverSocket) = await LoopbackTls.ConnectAsync();
        Task<NativeTlsStream> client = clientContext.ConnectAsync(clientSocket, expectedServer);
        Task<SslStream> server = SslStreamAsync(serverSocket, s => s.AuthenticateAsServerAsync(serverOptions));
        await Task.WhenAll(Settle(client), Settle(server)).WaitAsync(LoopbackTls.HangGuard);
        return (client, server);
    }

    /// <summary>An SslStream client against our server.</summary>
    public static async Task<(Task<SslStream> Client, Task<NativeTlsStream> Server)> ConnectFromSslStreamAsync(
        SslClientAuthenticationOptions clientOptions, NativeTlsContext serverContext)
    {
        (Socket clientSocket, Socket serverSocket) = await LoopbackTls.ConnectAsync();
        Task<SslStream> client = SslStreamAsync(clientSocket, s => s.AuthenticateAsClientAsync(clientOptions));
        Task<NativeTlsStream> server = serverContext.AcceptAsync(serverSocket);
        await Task.WhenAll(Settle(client), Settle(server)).WaitAsync(LoopbackTls.HangGuard);
        return (client, server);
    }

    /// <summary>Reads exactly <paramref name="length"/> bytes (in reads of up to 64 KiB, as HTTP/2 reads).</summary>
    public static async Task<byte[]> ReadExactlyAsync(Stream stream, int length)
    {
        byte[] received = new byte[length];
        int total = 0;
        while (total < length)
        {
            int read = await stream.ReadAsync(received.AsMemory(total, Math.Min(64 * 1024, length - total))).AsTask().WaitAsync(LoopbackTls.HangGuard);
            if (read == 0)
            {
                throw new EndOfStreamException($"stream ended after {total} of {length} bytes");
            }
            total += read;
        }
        return received;
    }

    /// <summary>Writes in batches the way the HTTP/2 write path does: a few writes, then one flush.</summary>
    public static async Task WriteBatchesAsync(Stream stream, byte[] data)
    {
        const int Chunk = 16 * 1024 + 9; // one DATA frame with its header
        for (int offset = 0; offset < data.Length;)
        {
            for (int i = 0; i < 4 && offset < data.Length; i++)
            {
                int count = Math.Min(Chunk, data.Length - offset);
                await stream.WriteAsync(data.AsMemory(offset, count));
                offset += count;
            }
            await stream.FlushAsync();
        }
    }

    public static byte[] RandomBytes(int length)
    {
        byte[] data = new byte[length];
        new Random(length).NextBytes(data);
        return data;
    }

    private static async Task<SslStream> SslStreamAsync(Socket socket, Func<SslStream, Task> authenticate)
    {
        var stream = new SslStream(new NetworkStream(socket, ownsSocket: true));
        try
        {
            await authenticate(stream);
            return stream;
        }
        catch
        {
            await stream.DisposeAsync();
            throw;
        }
    }

    private static async Task Settle(Task task)
    {
        try
        {
            await task;
        }
        catch (Exception)
        {
            // Observed by the caller through the task itself.
        }
    }
}
