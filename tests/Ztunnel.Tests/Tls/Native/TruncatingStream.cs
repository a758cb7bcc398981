using System.Net.Sockets;

namespace Ztunnel.Tests.Tls.Native;

/// <summary>
/// A socket stream under a test peer's SslStream that can cut the next write short and send FIN right
/// after: the way a peer that dies in the middle of a TLS record looks on the wire.
/// </summary>
internal sealed class TruncatingStream(Socket socket) : NetworkStream(socket, ownsSocket: true)
{
    /// <summary>When set, the next write sends only this many bytes, then shuts the socket down for sending.</summary>
    public int? CutNextWriteAfter { get; set; }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (CutNextWriteAfter is int keep)
        {
            await base.WriteAsync(buffer[..keep], cancellationToken);
            Socket.Shutdown(SocketShutdown.Send);
            return;
        }
        await base.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
}
