using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using Ztunnel.Capture;

namespace Ztunnel.E2E.Mesh;

/// <summary>
/// A plain TCP client app inside a pod netns: its sockets are created in the pod's netns without a mark,
/// so the pod's capture rules take them like any app's connection.
/// </summary>
public sealed class PodClient
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60);

    private readonly NetnsRunner _runner;

    internal PodClient(NetnsRunner runner, TestNamespace pod)
    {
        _runner = runner;
        Pod = pod;
    }

    public TestNamespace Pod { get; }

    public async Task<Socket> ConnectAsync(IPEndPoint target)
    {
        Socket socket = await _runner.CreateConnectingSocketAsync(Pod.Path, target.AddressFamily, mark: 0, transparentSource: null);
        try
        {
            await socket.ConnectAsync(target).WaitAsync(Guard);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A conversation with a <see cref="PodServer"/> echo port: sends <paramref name="message"/>, half-closes,
    /// reads to the end. Throws <see cref="SocketException"/> when the connection is reset.
    /// </summary>
    public async Task<EchoReply> EchoAsync(IPEndPoint target, string message)
    {
        using Socket socket = await ConnectAsync(target);
        byte[] answer = await ExchangeAsync(socket, Encoding.ASCII.GetBytes(message));
        return EchoReply.Parse(Encoding.ASCII.GetString(answer), target);
    }

    /// <summary>
    /// Connects and tries a conversation; returns true when the connection was closed or reset without a
    /// single byte of answer (what a client of a denied connection sees), false when the server answered.
    /// </summary>
    public async Task<bool> IsClosedWithoutAnswerAsync(IPEndPoint target, string message)
    {
        Socket socket;
        try
        {
            socket = await ConnectAsync(target);
        }
        catch (SocketException)
        {
            return true;
        }
        using (socket)
        {
            try
            {
                return (await ExchangeAsync(socket, Encoding.ASCII.GetBytes(message))).Length == 0;
            }
            catch (SocketException)
            {
                return true;
            }
        }
    }

    /// <summary>
    /// Streams <paramref name="length"/> bytes of pseudo-random data to a <see cref="PodServer"/> hash port
    /// and checks the server's answer (length and SHA-256) against what was sent. Returns the elapsed time.
    /// </summary>
    public async Task<TimeSpan> SendAndVerifyAsync(IPEndPoint target, long length)
    {
        byte[] block = new byte[1024 * 1024];
        new Random(42).NextBytes(block);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using Socket socket = await ConnectAsync(target);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        long sent = 0;
        while (sent < length)
        {
            // Vary the block so a repeated or dropped block would change the checksum.
            BitConverter.TryWriteBytes(block.AsSpan(0, 8), sent);
            int size = (int)Math.Min(block.Length, length - sent);
            hash.AppendData(block, 0, size);
            await SendAllAsync(socket, block.AsMemory(0, size));
            sent += size;
        }
        socket.Shutdown(SocketShutdown.Send);
        string answer = Encoding.ASCII.GetString(await ReadToEndAsync(socket)).Trim();
        clock.Stop();
        string expected = $"{length.ToString(CultureInfo.InvariantCulture)} {Convert.ToHexStringLower(hash.GetHashAndReset())}";
        answer.ShouldBe(expected, "the server's length and SHA-256 of what it received");
        return clock.Elapsed;
    }

    /// <summary>Sends everything, half-closes, and reads the peer's answer to its end.</summary>
    public static async Task<byte[]> ExchangeAsync(Socket socket, ReadOnlyMemory<byte> payload)
    {
        Task<byte[]> answer = ReadToEndAsync(socket);
        try
        {
            await SendAllAsync(socket, payload);
            socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // Reset while sending: the read below reports how the connection ended.
        }
        return await answer;
    }

    /// <summary>
    /// What is left to read on a connection the mesh is expected to cut: the bytes up to its end, where a
    /// reset (the daemon's RST) ends it like a FIN. A cut connection gives an empty array either way.
    /// </summary>
    public static async Task<byte[]> ReadRestAsync(Socket socket)
    {
        try
        {
            return await ReadToEndAsync(socket);
        }
        catch (SocketException)
        {
            return [];
        }
    }

    public static async Task<byte[]> ReadToEndAsync(Socket socket)
    {
        using var received = new MemoryStream();
        byte[] buffer = new byte[64 * 1024];
        int read;
        while ((read = await socket.ReceiveAsync(buffer.AsMemory()).AsTask().WaitAsync(Guard)) > 0)
        {
            received.Write(buffer, 0, read);
        }
        return received.ToArray();
    }

    private static async Task SendAllAsync(Socket socket, ReadOnlyMemory<byte> data)
    {
        while (!data.IsEmpty)
        {
            int sent = await socket.SendAsync(data).AsTask().WaitAsync(Guard);
            data = data[sent..];
        }
    }
}
