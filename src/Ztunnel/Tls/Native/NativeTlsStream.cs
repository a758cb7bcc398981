using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Ztunnel.Sockets;
namespace Ztunnel.Tls.Native;

/// <summary>
/// An HBONE TLS connection driven by OpenSSL directly, in place of <see cref="SslStream"/>: one user-space
/// copy per direction on the data path instead of about five.
/// </summary>
/// <remarks>
/// <para>
/// Receive: the SSL reads the socket itself (a socket BIO on the non-blocking fd, with read-ahead), so
/// <c>recv</c> lands in OpenSSL's record buffer, is decrypted in place and copied once, into the caller's
/// buffer. When OpenSSL wants more bytes than the kernel has, or its last receive found the socket drained, the read
/// waits for the daemon's poller (<see cref="PolledSocket"/>) to see the socket readable.
/// </para>
/// <para>
/// Send: the SSL does not write the socket. It writes its records into a BIO pair, a ring buffer (sized by
/// use, see NativeTlsStream.Ring.cs), and <see cref="FlushAsync"/> sends straight from the ring:
/// all records of one write batch go out in one <c>send</c> (bigger sends, fewer syscalls, GSO), at the
/// cost of one copy (OpenSSL's record into the ring). A ring, not a growing memory BIO: bytes the SSL writes
/// while a send is in flight (a KeyUpdate answered from a read) land after the ones being sent and never
/// move them.
/// </para>
/// <para>
/// One reader and one writer may run concurrently (HTTP/2 does); an SSL is not safe for concurrent
/// SSL_read/SSL_write, so every SSL call runs under <see cref="_lock"/>, which is never held across an await.
/// Failures surface as <see cref="IOException"/> (the HTTP/2 loops treat that as a closed transport), never
/// as a raw <see cref="SocketException"/>.
/// </para>
/// </remarks>
internal sealed partial class NativeTlsStream : Stream
{
    private readonly Lock _lock = new();
    private readonly PolledSocket _socket;
    private readonly bool _isServer;
    private readonly SafeSslHandle _ssl;
    private readonly SafeBioHandle _network; // our end of the write pair: we read (send) what the SSL wrote
    private readonly nint _inner; // the SSL's end of the write pair (owned by the SSL)
    private readonly PointerMemoryManager _sendMemory = new();
    private bool _sending;
    private TaskCompletionSource? _readerWaitsForRing; // a read that needs ring space waits for the next send
    private bool _nativeFreed;
    private int _disposed;

    private NativeTlsStream(NativeTlsContext context, PolledSocket socket)
    {
        _socket = socket;
        _isServer = context.IsServer;
        _ssl = context.NewSsl();
        try
        {
            // The SSL reads the fd itself; PolledSocket made it non-blocking.
            nint rbio = OpenSsl.BIO_new_socket((int)socket.Socket.SafeHandle.DangerousGetHandle(), OpenSsl.BIO_NOCLOSE);
            OpenSslError.Check(rbio != 0, "BIO_new_socket");
            WatchSocketReads(rbio);
            OpenSsl.SSL_set0_rbio(_ssl, rbio);
            // Nothing is ever written into our end: its own buffer (the other direction) is one byte.
            OpenSslError.Check(OpenSsl.BIO_new_bio_pair(out nint inner, SmallRing, out nint network, 1) == 1, "BIO_new_bio_pair");
            _network = new SafeBioHandle(network);
            _inner = inner;
            _ringSize = SmallRing;
            OpenSsl.SSL_set0_wbio(_ssl, inner);
        }
        catch
        {
            _ssl.Dispose();
            throw;
        }
    }

    /// <summary>The socket; the stream owns it and closes it on dispose.</summary>
    public Socket Socket => _socket.Socket;

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
                // A send in flight reads the ring: the send's completion frees the SSL instead.
                if (!_sending)
                {
                    FreeNativeLocked();
                }
                _readerWaitsForRing?.TrySetException(new ObjectDisposedException(nameof(NativeTlsStream)));
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
        if (!_nativeFreed)
        {
            _nativeFreed = true;
            _ssl.Dispose();
            _network.Dispose();
        }
    }

    private void ThrowIfDisposedLocked() => ObjectDisposedException.ThrowIf(_disposed != 0, this);
}
