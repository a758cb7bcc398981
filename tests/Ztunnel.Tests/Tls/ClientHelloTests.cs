using System.Buffers.Binary;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using Ztunnel.Tls;

namespace Ztunnel.Tests.Tls;

/// <summary>
/// Reads the ClientHello our HBONE client actually puts on the wire (RFC 8446 §4.1.2) with a plain socket,
/// independent of SslStream's own view of what it negotiated.
/// </summary>
public sealed class ClientHelloTests : IDisposable
{
    private const ushort ServerNameExtension = 0;
    private const ushort AlpnExtension = 16;
    private const ushort SupportedVersionsExtension = 43;

    private readonly TestPki _pki = new();

    public void Dispose() => _pki.Dispose();

    [Fact]
    public async Task ClientHello_HasNoSni_OffersOnlyTls13AesGcmAndH2()
    {
        using WorkloadCertificate clientCert = _pki.Issue("client");
        Dictionary<ushort, byte[]> extensions;
        List<ushort> suites;
        using (var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp))
        {
            listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
            listener.Listen(1);
            using var clientSocket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await clientSocket.ConnectAsync(listener.LocalEndPoint!).WaitAsync(LoopbackTls.HangGuard);
            using Socket raw = await listener.AcceptAsync().WaitAsync(LoopbackTls.HangGuard);
            using var client = new SslStream(new NetworkStream(clientSocket, ownsSocket: false));
            Task handshake = client.AuthenticateAsClientAsync(HboneTls.ClientOptions(clientCert, _pki.Bundle, TestPki.Id("server")));

            byte[] hello = await ReadHandshakeRecordAsync(raw);
            raw.Close(); // the client must give up, not hang
            await Should.ThrowAsync<Exception>(handshake.WaitAsync(LoopbackTls.HangGuard));
            (suites, extensions) = ParseClientHello(hello);
        }

        extensions.ShouldNotContainKey(ServerNameExtension);
        // TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384; OpenSSL also lists the renegotiation signalling value
        // 0x00FF (RFC 5746 §3.3), which is not a cipher suite.
        suites.Remove(0x00FF);
        suites.ShouldBe(new ushort[] { 0x1301, 0x1302 }, ignoreOrder: true);
        // supported_versions: length byte, then 0x0304 (TLS 1.3) only.
        extensions[SupportedVersionsExtension].ShouldBe(new byte[] { 2, 0x03, 0x04 });
        // ALPN: list length 3, one protocol of length 2: "h2".
        extensions[AlpnExtension].ShouldBe(new byte[] { 0, 3, 2, (byte)'h', (byte)'2' });
    }

    private static async Task<byte[]> ReadHandshakeRecordAsync(Socket socket)
    {
        byte[] header = new byte[5];
        await ReadExactlyAsync(socket, header);
        header[0].ShouldBe((byte)22, "record type handshake");
        byte[] body = new byte[BinaryPrimitives.ReadUInt16BigEndian(header.AsSpan(3))];
        await ReadExactlyAsync(socket, body);
        return body;
    }

    private static async Task ReadExactlyAsync(Socket socket, Memory<byte> buffer)
    {
        while (buffer.Length > 0)
        {
            int n = await socket.ReceiveAsync(buffer).AsTask().WaitAsync(LoopbackTls.HangGuard);
            n.ShouldBeGreaterThan(0, "client closed before sending its ClientHello");
            buffer = buffer[n..];
        }
    }

    private static (List<ushort> Suites, Dictionary<ushort, byte[]> Extensions) ParseClientHello(byte[] hs)
    {
        hs[0].ShouldBe((byte)1, "handshake type client_hello");
        int p = 4 + 2 + 32; // header, legacy_version, random
        p += 1 + hs[p]; // legacy_session_id
        int suitesLength = BinaryPrimitives.ReadUInt16BigEndian(hs.AsSpan(p));
        var suites = new List<ushort>();
        for (int i = 0; i < suitesLength; i += 2)
        {
            suites.Add(BinaryPrimitives.ReadUInt16BigEndian(hs.AsSpan(p + 2 + i)));
        }
        p += 2 + suitesLength;
        p += 1 + hs[p]; // legacy_compression_methods
        int end = p + 2 + BinaryPrimitives.ReadUInt16BigEndian(hs.AsSpan(p));
        p += 2;
        var extensions = new Dictionary<ushort, byte[]>();
        while (p < end)
        {
            ushort type = BinaryPrimitives.ReadUInt16BigEndian(hs.AsSpan(p));
            int length = BinaryPrimitives.ReadUInt16BigEndian(hs.AsSpan(p + 2));
            extensions[type] = hs.AsSpan(p + 4, length).ToArray();
            p += 4 + length;
        }
        return (suites, extensions);
    }
}
