using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Ztunnel.Sockets;
namespace Ztunnel.Tls.Native;

/// <summary>
/// An HBONE TLS connection: OpenSSL runs the handshake, our own TLS 1.3 record layer (<see cref="TlsRecordProtection"/>)
/// carries the data after it. In place of <see cref="SslStream"/>: no user-space copy of the data besides the AES-GCM
/// pass itself, in either direction.
/// </summary>
/// <remarks>
/// <para>
/// Handshake: the SSL reads the non-blocking socket itself (a socket BIO, no read-ahead, so it never takes a byte past
/// the handshake's last record) and writes its flights into a BIO pair, a ring that <see cref="FlushAsync"/> sends from.
/// OpenSSL hands us the application traffic secrets through the context's key log callback; once the handshake is done
/// the SSL and its ring are freed (NativeTlsStream.Records.cs).
/// </para>
/// <para>
/// Receive: <c>recv</c> lands in our receive buffer (up to four full records at once), and each record is decrypted
/// from there straight into the caller's buffer (NativeTlsStream.Reading.cs). When the kernel has no more bytes, the
/// read waits for the daemon's poller (<see cref="PolledSocket"/>) to see the socket readable.
/// </para>
/// <para>
/// Send: each record is encrypted from the caller's buffer straight into our send buffer, and
/// <see cref="FlushAsync"/> sends from there: all records of one write batch in one <c>send</c> (bigger sends, fewer
/// syscalls, GSO). The buffer's size follows the connection's use (NativeTlsStream.SendBuffer.cs).
/// </para>
/// <para>
/// One reader and one writer may run concurrently (HTTP/2 does). Every touch of the native state runs under
/// <see cref="_lock"/>, which is never held across an await. The reader never writes: what it must answer (a
/// KeyUpdate that requests ours) the writer sends before its next record. Failures surface as
/// <see cref="IOException"/> (the HTTP/2 loops treat that as a closed transport), never as a raw
/// <see cref="SocketException"/>.
/// </para>
/// </remarks>
internal sealed partial class NativeTlsStream : Stream
{
    private readonly Lock _lock = new();
    private readonly PolledSocket _socket;
    private readonly bool _isServer;
    private readonly SafeSslHandle _ssl; // the handshake's; freed once it is done
    private readonly SafeBioHandle _network; // our end of the handshake's write pair: we read (send) what the SSL wrote
    private readonly PointerMemoryManager _sendMemory = new();
    private bool _sending;
    private bool _nativeFreed;
    private int _disposed;

    private NativeTlsStream(NativeTlsContext context, PolledSocket socket)
    {
        _socket = socket;
        _isServer = context.IsServer;
        _ssl = context.NewSsl();
        try
        {
            // The SSL reads the fd itself during the handshake; PolledSocket made it non-blocking.
            nint rbio = OpenSsl.BIO_new_socket((int)socket.Socket.SafeHandle.DangerousGetHandle(), OpenSsl.BIO_NOCLOSE);
            OpenSslError.Check(rbio != 0, "BIO_new_socket");
            OpenSsl.SSL_set0_rbio(_ssl, rbio);
            // Nothing is ever written into our end: its own buffer (the other direction) is one byte.
            OpenSslError.Check(OpenSsl.BIO_new_bio_pair(out nint inner, HandshakeRing, out nint network, 1) == 1, "BIO_new_bio_pair");
            _network = new SafeBioHandle(network);
            OpenSsl.SSL_set0_wbio(_ssl, inner); // the SSL owns its end
        }
        catch
        {
            _ssl.Dispose();
            throw;
        }
    }

    /// <summary>The socket; the stream owns it and closes it on dispose.</summary>
    public Socket Socket => _socket.Socket;

    /// <summary>The transport socket as the poller sees it (readiness handlers, receive state).</summary>
    internal PolledSocket Polled => _socket;

    /// <summary>The peer's verified leaf certificate (set once the handshake succeeded).</summary>
    public X509Certificate2? RemoteCertificate { get; private set; }

    /// <summary>The peer's SPIFFE identity, read once from its verified certificate.</summary>
    public SpiffeId? PeerIdentity { get; private set; }

    public SslProtocols SslProtocol { get; private set; }

    public TlsCipherSuite NegotiatedCipherSuite { get; private set; }

    public SslApplicationProtocol NegotiatedApplicationProtocol { get; private set; }

    public override bool CanRead => true;
    public override bool CanWrite => true;
    public override bool CanSeek => false;
    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    // HBONE connections are async only; a synchronous call would block a thread-pool thread per connection.
    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("HBONE transports are async only; use ReadAsync");

    public override void Write(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("HBONE transports are async only; use WriteAsync");

    public override void Flush() => throw new NotSupportedException("HBONE transports are async only; use FlushAsync");

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override string ToString() => $"HBONE TLS {(_isServer ? "server" : "client")} connection, peer {PeerIdentity?.ToString() ?? "(not verified)"}";

    protected override void Dispose(bool disposing)
    {
        if (disposing && Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            lock (_lock)
            {
                // A send in flight reads the ring or the send buffer: the send's completion frees them instead.
                if (!_sending)
                {
                    FreeNativeLocked();
                }
                FreeReceiveBufferLocked();
            }
            // After the SSL is marked disposed (checked under the lock): its socket BIO must never touch a
            // closed fd number that the kernel may have handed to another socket by then.
            _socket.Dispose();
            RemoteCertificate?.Dispose();
        }
        base.Dispose(disposing);
    }

    private void FreeNativeLocked()
    {
        FreeHandshakeLocked();
        if (!_nativeFreed)
        {
            _nativeFreed = true;
            FreeSendBufferLocked();
            _sealer?.Dispose();
            _opener?.Dispose();
        }
    }

    /// <summary>The SSL and its write ring: once the handshake is done, or with the stream.</summary>
    private void FreeHandshakeLocked()
    {
        if (!_ssl.IsClosed)
        {
            _ssl.Dispose();
            _network.Dispose();
        }
    }

    private void ThrowIfDisposedLocked() => ObjectDisposedException.ThrowIf(_disposed != 0, this);
}
