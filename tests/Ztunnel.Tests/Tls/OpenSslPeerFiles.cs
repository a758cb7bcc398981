using System.Net;
using System.Net.Sockets;
using System.Text;
using Ztunnel.Tls;

namespace Ztunnel.Tests.Tls;

/// <summary>What the openssl s_server / s_client interop tests share: PEM files for the peer, a listener, a line reader.</summary>
internal static class OpenSslPeerFiles
{
    /// <summary>Writes root.pem (the bundle), <paramref name="name"/>.crt (chain) and <paramref name="name"/>.key into <paramref name="dir"/>.</summary>
    public static void WritePem(TempDirectory dir, TestPki pki, string name, WorkloadCertificate cert)
    {
        dir.Write("root.pem", pki.Bundle.ToPem());
        dir.Write($"{name}.crt", cert.CertificateChainPem());
        dir.Write($"{name}.key", cert.PrivateKeyPem());
    }

    public static Socket Listen()
    {
        var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(1);
        return listener;
    }

    /// <summary>One line (without its '\n'), or what came before the end of the stream.</summary>
    public static async Task<string> ReadLineAsync(Stream stream)
    {
        var line = new StringBuilder();
        byte[] one = new byte[1];
        while (await stream.ReadAsync(one).AsTask().WaitAsync(LoopbackTls.HangGuard) == 1 && one[0] != '\n')
        {
            line.Append((char)one[0]);
        }
        return line.ToString();
    }
}
