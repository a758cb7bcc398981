using System.Net.Security;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Ztunnel.Tls.Native;

// From the handshake to our own record layer: the application traffic secrets OpenSSL derived, the switch, and what
// arrives after the handshake besides data (RFC 8446 §4.6: NewSessionTicket, KeyUpdate; §6: alerts).
internal sealed partial class NativeTlsStream
{
    /// <summary>
    /// Records sealed with one key before the writer moves to the next (its own KeyUpdate). RFC 8446 §5.5 allows
    /// 2^24.5 full-size records per AES-GCM key; a long-lived pooled connection can get there (about 380 GiB).
    /// </summary>
    internal const ulong DefaultRecordsPerKey = 1UL << 24;

    private const byte HandshakeNewSessionTicket = 4;
    private const byte HandshakeKeyUpdate = 24;

    /// <summary>The longest post-handshake message we buffer (a NewSessionTicket, which we ignore, is far shorter).</summary>
    private const int MaxPostHandshakeMessage = 64 * 1024;

    private const byte AlertCloseNotify = 0;
    private const byte AlertUserCanceled = 90;

    private byte[]? _clientSecret;
    private byte[]? _serverSecret;
    private TlsRecordProtection? _sealer;
    private TlsRecordProtection? _opener;
    private byte[]? _postHandshake; // a handshake message split over records, until it is whole
    private int _postHandshakeLength;
    private bool _keyUpdateOwed; // ours is due before the next record we seal: asked for, or the key's limit reached
    private bool _refusedPeer; // we sealed a fatal alert: no record may follow it

    /// <summary>Records our key seals before we update it (tests lower it to see KeyUpdates happen).</summary>
    internal ulong RecordsPerKey { get; set; } = DefaultRecordsPerKey;

    /// <summary>KeyUpdates this side has sent (tests).</summary>
    internal int KeyUpdatesSent { get; private set; }

    /// <summary>KeyUpdates the peer has sent us (tests).</summary>
    internal int KeyUpdatesReceived { get; private set; }

    /// <summary>
    /// The context's SSL_CTX_set_keylog_callback: OpenSSL reports each secret the handshake running on this thread
    /// derives (see <see cref="t_handshaking"/>). We keep the two application traffic secrets and nothing else.
    /// </summary>
    [UnmanagedCallersOnly]
    internal static unsafe void OnKeyLogLine(nint ssl, byte* line)
    {
        NativeTlsStream? stream = t_handshaking;
        if (stream is null || stream._ssl.DangerousGetHandle() != ssl)
        {
            return;
        }
        var text = MemoryMarshal.CreateReadOnlySpanFromNullTerminated(line);
        if (text.StartsWith("CLIENT_TRAFFIC_SECRET_0 "u8))
        {
            stream._clientSecret = SecretOf(text);
        }
        else if (text.StartsWith("SERVER_TRAFFIC_SECRET_0 "u8))
        {
            stream._serverSecret = SecretOf(text);
        }
    }

    /// <summary>The last field of a key log line (label, client random, secret), decoded from hex; null if malformed.</summary>
    private static byte[]? SecretOf(ReadOnlySpan<byte> line)
    {
        ReadOnlySpan<byte> hex = line[(line.LastIndexOf((byte)' ') + 1)..];
        if (hex.Length == 0 || hex.Length % 2 != 0 || hex.Length > 2 * 64)
        {
            return null;
        }
        byte[] secret = new byte[hex.Length / 2];
        for (int i = 0; i < secret.Length; i++)
        {
            int high = HexValue(hex[2 * i]);
            int low = HexValue(hex[(2 * i) + 1]);
            if (high < 0 || low < 0)
            {
                CryptographicOperations.ZeroMemory(secret);
                return null;
            }
            secret[i] = (byte)((high << 4) | low);
        }
        return secret;
    }

    private static int HexValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => -1,
    };

    /// <summary>
    /// After the handshake: our record layer takes over with the negotiated suite and the secrets OpenSSL gave us, and
    /// the SSL is freed. Both ends start at sequence number 0: OpenSSL has sealed nothing with the application keys (a
    /// server of ours sends no tickets) and, reading without read-ahead, has opened nothing past its last handshake
    /// record.
    /// </summary>
    private void StartRecordLayer()
    {
        lock (_lock)
        {
            ThrowIfDisposedLocked();
            try
            {
                if (OpenSsl.SSL_has_pending(_ssl) != 0 || OpenSsl.BIO_ctrl_pending(_network) != 0)
                {
                    throw new InvalidOperationException("HBONE TLS: OpenSSL holds bytes past the handshake; the record layer cannot take over");
                }
                if (_clientSecret is null || _serverSecret is null)
                {
                    throw new InvalidOperationException("HBONE TLS: OpenSSL reported no application traffic secrets (key log callback not called)");
                }
                _sealer = TlsRecordProtection.For(NegotiatedCipherSuite, _isServer ? _serverSecret : _clientSecret, encrypt: true);
                _opener = TlsRecordProtection.For(NegotiatedCipherSuite, _isServer ? _clientSecret : _serverSecret, encrypt: false);
                if (_sealer is null || _opener is null)
                {
                    throw new InvalidOperationException($"HBONE TLS: no record layer for {NegotiatedCipherSuite} (HBONE negotiates AES-GCM only)");
                }
            }
            finally
            {
                CryptographicOperations.ZeroMemory(_clientSecret);
                CryptographicOperations.ZeroMemory(_serverSecret);
                _clientSecret = _serverSecret = null;
            }
            FreeHandshakeLocked();
            StartSendBufferLocked();
        }
    }

    /// <summary>
    /// A handshake record after the handshake: its messages, which may continue over several records, are taken as
    /// they complete. Only tickets (ignored: we never resume) and KeyUpdate may come.
    /// </summary>
    private void OnPostHandshakeLocked(ReadOnlySpan<byte> content)
    {
        if (content.IsEmpty)
        {
            throw Refused(TlsAlert.UnexpectedMessage, "an empty handshake record");
        }
        if (_postHandshakeLength + content.Length > MaxPostHandshakeMessage + 4)
        {
            throw Refused(TlsAlert.IllegalParameter, $"a post-handshake message longer than {MaxPostHandshakeMessage} bytes");
        }
        _postHandshake ??= new byte[Math.Max(256, content.Length)];
        if (_postHandshake.Length < _postHandshakeLength + content.Length)
        {
            Array.Resize(ref _postHandshake, Math.Min(MaxPostHandshakeMessage + 4, Math.Max(_postHandshake.Length * 2, _postHandshakeLength + content.Length)));
        }
        content.CopyTo(_postHandshake.AsSpan(_postHandshakeLength));
        _postHandshakeLength += content.Length;

        int offset = 0;
        while (_postHandshakeLength - offset >= 4)
        {
            ReadOnlySpan<byte> pending = _postHandshake.AsSpan(offset, _postHandshakeLength - offset);
            int length = (pending[1] << 16) | (pending[2] << 8) | pending[3];
            if (length > MaxPostHandshakeMessage)
            {
                throw Refused(TlsAlert.IllegalParameter, $"a post-handshake message of {length} bytes");
            }
            if (pending.Length < 4 + length)
            {
                break;
            }
            byte type = pending[0];
            offset += 4 + length;
            switch (type)
            {
                case HandshakeNewSessionTicket when !_isServer:
                    break; // no resumption: every connection verifies the peer's current certificate in full
                case HandshakeKeyUpdate:
                    // §4.6.3, §5.1: one byte, and the last thing in its record (the next one is under the new key).
                    if (length != 1 || pending[4] > 1)
                    {
                        throw Refused(TlsAlert.IllegalParameter, "a malformed KeyUpdate");
                    }
                    if (offset != _postHandshakeLength)
                    {
                        throw Refused(TlsAlert.UnexpectedMessage, "a KeyUpdate that does not end its record");
                    }
                    _opener!.Update();
                    KeyUpdatesReceived++;
                    if (pending[4] == 1)
                    {
                        _keyUpdateOwed = true; // update_requested: ours goes before our next record
                    }
                    break;
                default:
                    throw Refused(TlsAlert.UnexpectedMessage, $"handshake message type {type} after the handshake");
            }
        }
        _postHandshakeLength -= offset;
        if (_postHandshakeLength > 0 && offset > 0)
        {
            _postHandshake.AsSpan(offset, _postHandshakeLength).CopyTo(_postHandshake);
        }
        if (_postHandshakeLength == 0 && _postHandshake.Length > 256)
        {
            _postHandshake = null; // a large message passed; an idle connection keeps nothing
        }
    }

    /// <summary>An alert (§6): close_notify ends the stream, user_canceled is only a note, anything else fails it.</summary>
    private void OnAlertLocked(ReadOnlySpan<byte> content)
    {
        if (content.Length != 2)
        {
            throw Refused(TlsAlert.DecodeError, $"an alert record of {content.Length} bytes");
        }
        switch (content[1])
        {
            case AlertCloseNotify:
                _peerClosed = true;
                break;
            case AlertUserCanceled:
                break;
            default:
                throw new IOException($"HBONE TLS receive failed: the peer sent alert {AlertName(content[1])} ({content[1]})");
        }
    }

    /// <summary>The alert's name as OpenSSL words it ("alert bad certificate"), so a refusal reads the same on either layer.</summary>
    private static string AlertName(byte alert) => alert switch
    {
        10 => "unexpected message",
        20 => "bad record mac",
        22 => "record overflow",
        40 => "handshake failure",
        42 => "bad certificate",
        43 => "unsupported certificate",
        44 => "certificate revoked",
        45 => "certificate expired",
        46 => "certificate unknown",
        47 => "illegal parameter",
        48 => "unknown ca",
        49 => "access denied",
        50 => "decode error",
        51 => "decrypt error",
        70 => "protocol version",
        80 => "internal error",
        109 => "missing extension",
        116 => "certificate required",
        120 => "no application protocol",
        _ => "number",
    };

    private static TlsRecordRefusedException Refused(TlsAlert alert, string what) => new(alert, what);

    /// <summary>
    /// RFC 8446 §6.2: a refusal after the handshake (a record a TLS 1.3 peer may not send, or a server that selected no
    /// ALPN) ends the connection with a fatal alert that says why, as OpenSSL's record layer did. It is sealed behind what the send buffer holds and, when no flush is under way, sent at once with one
    /// non-blocking send (else the flush's next turn or the shutdown takes it). Best effort: a peer that is gone or
    /// reads nothing never holds the reader up. Writes fail from here on.
    /// </summary>
    private unsafe void SendFatalAlertLocked(TlsAlert alert)
    {
        if (_refusedPeer || _sealer is null || _nativeFreed)
        {
            return;
        }
        _refusedPeer = true;
        ReadOnlySpan<byte> content = [2, (byte)alert]; // level fatal
        if (_sendCapacity - _sendEnd < content.Length + TlsRecordProtection.Overhead)
        {
            return; // a send buffer full of data the peer is not reading: the close tells it enough
        }
        SealLocked(content, TlsRecordProtection.ContentAlert);
        if (_sending)
        {
            return;
        }
        try
        {
            int sent = _socket.Send(new ReadOnlySpan<byte>(_sendBuffer + _sendStart, _sendEnd - _sendStart));
            if (sent > 0)
            {
                _sendStart += sent;
                if (_sendStart == _sendEnd)
                {
                    _sendStart = _sendEnd = 0;
                }
            }
        }
        catch (SocketException)
        {
            // The peer is gone: there is nobody to tell.
        }
    }

    /// <summary>Our KeyUpdate, if one is owed, sealed before the next record; false when the send buffer has no room for it yet.</summary>
    private unsafe bool SealOwedKeyUpdateLocked()
    {
        if (!_keyUpdateOwed)
        {
            return true;
        }
        ReadOnlySpan<byte> keyUpdate = [HandshakeKeyUpdate, 0, 0, 1, 0]; // update_not_requested
        if (!HasSendRoomLocked(keyUpdate.Length))
        {
            return false;
        }
        _sendEnd += _sealer!.Seal(keyUpdate, TlsRecordProtection.ContentHandshake, _sendBuffer + _sendEnd);
        _sealer.Update();
        _keyUpdateOwed = false;
        KeyUpdatesSent++;
        return true;
    }

    /// <summary>Seals one record into the send buffer (room checked by the caller) and notes when the key is due for an update.</summary>
    private unsafe void SealLocked(ReadOnlySpan<byte> content, byte contentType)
    {
        _sendEnd += _sealer!.Seal(content, contentType, _sendBuffer + _sendEnd);
        if (_sealer.Sequence >= RecordsPerKey)
        {
            _keyUpdateOwed = true;
        }
    }
}
