using System.Buffers;
using System.Globalization;
using System.Text;

namespace Ztunnel.Daemon.Logging;

/// <summary>Writes text and formattable values as UTF-8 straight into a buffer writer, without strings in between.</summary>
internal static class Utf8Output
{
    public static void Write(IBufferWriter<byte> output, ReadOnlySpan<char> text)
    {
        if (!text.IsEmpty)
        {
            Encoding.UTF8.GetBytes(text, output);
        }
    }

    public static void Write(IBufferWriter<byte> output, ReadOnlySpan<byte> utf8) => output.Write(utf8);

    public static void Write(IBufferWriter<byte> output, byte ascii)
    {
        output.GetSpan(1)[0] = ascii;
        output.Advance(1);
    }

    /// <summary>Formats in place (invariant culture); the buffer grows until the value fits.</summary>
    public static void Write(IBufferWriter<byte> output, IUtf8SpanFormattable value, ReadOnlySpan<char> format)
    {
        int size = 64;
        while (true)
        {
            Span<byte> span = output.GetSpan(size);
            if (value.TryFormat(span, out int written, format, CultureInfo.InvariantCulture))
            {
                output.Advance(written);
                return;
            }
            size = span.Length * 2;
        }
    }

    /// <summary>Text between double quotes, its own quotes escaped as \" (Serilog's rendering of a string value).</summary>
    public static void WriteQuoted(IBufferWriter<byte> output, ReadOnlySpan<char> text)
    {
        Write(output, (byte)'"');
        int quote;
        while ((quote = text.IndexOf('"')) >= 0)
        {
            Write(output, text[..quote]);
            Write(output, "\\\""u8);
            text = text[(quote + 1)..];
        }
        Write(output, text);
        Write(output, (byte)'"');
    }
}
