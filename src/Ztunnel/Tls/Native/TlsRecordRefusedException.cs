namespace Ztunnel.Tls.Native;

/// <summary>The fatal alerts our record layer sends (RFC 8446 §6.2; RFC 7301 §3.2 for ALPN), by their codes.</summary>
internal enum TlsAlert : byte
{
    UnexpectedMessage = 10,
    BadRecordMac = 20,
    RecordOverflow = 22,
    IllegalParameter = 47,
    DecodeError = 50,
    NoApplicationProtocol = 120,
}

/// <summary>
/// A record a TLS 1.3 peer may not send. The read fails with this, and the stream tells the peer why with
/// <see cref="Alert"/> as a fatal alert before the connection goes (NativeTlsStream.Records.cs).
/// </summary>
internal sealed class TlsRecordRefusedException(TlsAlert alert, string what)
    : IOException($"HBONE TLS receive failed: the peer sent {what} ({RfcName(alert)})")
{
    public TlsAlert Alert { get; } = alert;

    /// <summary>The alert's name as RFC 8446 spells it.</summary>
    public static string RfcName(TlsAlert alert) => alert switch
    {
        TlsAlert.UnexpectedMessage => "unexpected_message",
        TlsAlert.BadRecordMac => "bad_record_mac",
        TlsAlert.RecordOverflow => "record_overflow",
        TlsAlert.IllegalParameter => "illegal_parameter",
        TlsAlert.DecodeError => "decode_error",
        TlsAlert.NoApplicationProtocol => "no_application_protocol",
        _ => $"alert {(byte)alert}",
    };
}
