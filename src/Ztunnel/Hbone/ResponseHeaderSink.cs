using Ztunnel.Hbone.Hpack;

namespace Ztunnel.Hbone;

/// <summary>
/// Collects what a CONNECT client needs from a response header block: <c>:status</c>, and whether the
/// block is malformed (RFC 9113 §8.1.1, §8.3). Reused for every block of a connection: no allocations
/// unless the block is malformed.
/// </summary>
internal sealed class ResponseHeaderSink : IHeaderSink
{
    private bool _sawRegular;

    public int Status { get; private set; }

    /// <summary>Why the block is malformed as a response, or null.</summary>
    public string? Error { get; private set; }

    public void Reset()
    {
        Status = 0;
        Error = null;
        _sawRegular = false;
    }

    public void OnHeader(ReadOnlySpan<byte> name, ReadOnlySpan<byte> value)
    {
        if (Error is not null)
        {
            return;
        }
        if (name.IsEmpty || name[0] != (byte)':')
        {
            _sawRegular = true;
            return;
        }
        if (_sawRegular)
        {
            Error = "a pseudo-header field after a regular field";
        }
        else if (!name.SequenceEqual(":status"u8))
        {
            Error = $"unknown response pseudo-header '{System.Text.Encoding.ASCII.GetString(name)}'";
        }
        else if (Status != 0)
        {
            Error = ":status appears twice";
        }
        else if (value.Length != 3 || !char.IsAsciiDigit((char)value[0]) || !char.IsAsciiDigit((char)value[1]) || !char.IsAsciiDigit((char)value[2]))
        {
            Error = $":status '{System.Text.Encoding.ASCII.GetString(value)}' is not a three-digit code";
        }
        else
        {
            Status = ((value[0] - '0') * 100) + ((value[1] - '0') * 10) + (value[2] - '0');
        }
    }

    /// <summary>Called after the block: a response without <c>:status</c> is malformed.</summary>
    public string? Validate() => Error ?? (Status == 0 ? "no :status" : null);
}
