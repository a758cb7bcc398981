namespace Ztunnel.Tls.Native;

// The write ring's size follows the connection's use. Big (four full records, one 64 KiB write batch) under
// bulk: one send per batch. Small when idle or for small messages: an idle pooled connection holds 4 KiB of
// it, not 66 (OpenSSL's own record buffers are freed whenever empty, SSL_MODE_RELEASE_BUFFERS). A BIO pair
// allocates its ring when paired, so a resize is unpair, new size, pair again: only ever with the ring empty,
// and with hysteresis so a bulk connection does not flap between the two.
internal sealed partial class NativeTlsStream
{
    private const int SmallRing = 4 * 1024;
    private const int BigRing = 4 * (16 * 1024 + 256);

    /// <summary>Sends smaller than this count as small.</summary>
    private const int SmallSend = 4 * 1024;

    /// <summary>How many small sends in a row shrink a big ring again.</summary>
    private const int SmallSendsToShrink = 32;

    private int _ringSize;
    private bool _ringFilled;
    private int _smallSends;

    /// <summary>After <paramref name="sent"/> bytes left the ring: resize it if it is empty and the use says so.</summary>
    private void OnSentLocked(int sent)
    {
        _smallSends = sent < SmallSend ? _smallSends + 1 : 0;
        if (OpenSsl.BIO_ctrl_pending(_network) != 0)
        {
            return;
        }
        if (_ringFilled && _ringSize == SmallRing)
        {
            ResizeRingLocked(BigRing);
        }
        else if (_ringSize == BigRing && _smallSends >= SmallSendsToShrink)
        {
            ResizeRingLocked(SmallRing);
        }
        _ringFilled = false;
    }

    private void ResizeRingLocked(int size)
    {
        nint network = _network.DangerousGetHandle();
        OpenSsl.BIO_ctrl(_inner, OpenSsl.BIO_C_DESTROY_BIO_PAIR, 0, 0);
        OpenSsl.BIO_ctrl(_inner, OpenSsl.BIO_C_SET_WRITE_BUF_SIZE, size, 0); // frees the old ring
        if (OpenSsl.BIO_ctrl(_inner, OpenSsl.BIO_C_MAKE_BIO_PAIR, 0, network) != 1)
        {
            throw new IOException($"HBONE TLS: could not allocate a {size}-byte write ring: {OpenSslError.Drain("out of memory?")}");
        }
        _ringSize = size;
        _smallSends = 0;
    }
}
