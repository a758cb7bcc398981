using System.Text;

namespace Ztunnel.Tls.Native;

/// <summary>Reads OpenSSL's per-thread error queue into text (and empties it).</summary>
internal static class OpenSslError
{
    /// <summary>
    /// Every queued error, oldest first, e.g. <c>error:0A000102:SSL routines::unsupported protocol</c>;
    /// <paramref name="fallback"/> when the queue is empty. Call on the thread that made the failing call.
    /// </summary>
    public static unsafe string Drain(string fallback)
    {
        StringBuilder? text = null;
        byte* buffer = stackalloc byte[256];
        for (ulong error = OpenSsl.ERR_get_error(); error != 0; error = OpenSsl.ERR_get_error())
        {
            OpenSsl.ERR_error_string_n(error, buffer, 256);
            text ??= new StringBuilder();
            text.Append(text.Length > 0 ? "; " : "").Append(new string((sbyte*)buffer));
        }
        return text?.ToString() ?? fallback;
    }

    /// <summary>The reason code of the newest queued error without removing it, 0 if none.</summary>
    public static int PeekLastReason() => (int)(OpenSsl.ERR_peek_last_error() & OpenSsl.ERR_REASON_MASK);

    /// <summary>Throws <see cref="InvalidOperationException"/> naming <paramref name="what"/> when <paramref name="ok"/> is false.</summary>
    public static void Check(bool ok, string what)
    {
        if (!ok)
        {
            throw new InvalidOperationException($"OpenSSL: {what} failed: {Drain("no error queued")}");
        }
    }
}
