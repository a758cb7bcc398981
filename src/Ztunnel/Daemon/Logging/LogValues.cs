using System.Buffers;
using System.Collections;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Ztunnel.Daemon.Logging;

/// <summary>
/// How a logged value is written, with Serilog's rules (the lines must read as they did when Serilog wrote them):
/// Serilog's scalar types (numbers, bool, string, char, dates, TimeSpan, Guid, Uri, enums) keep their type and
/// honour a hole's format; a sequence is a list; any other object is captured as its ToString(), i.e. a string.
/// </summary>
internal static class LogValues
{
    /// <summary>How a string appears in a rendered message.</summary>
    internal enum Quoting
    {
        /// <summary>The text format's `{Message:lj}`: strings as they are.</summary>
        Literal,

        /// <summary>The JSON RenderedMessage: strings in double quotes.</summary>
        Quoted,
    }

    /// <summary>A value in a rendered message.</summary>
    public static void WriteText(IBufferWriter<byte> output, object? value, string? format, Quoting quoting)
    {
        switch (value)
        {
            case null:
                Utf8Output.Write(output, "null"u8);
                break;
            case string s:
                WriteString(output, s, format == "l" ? Quoting.Literal : quoting);   // {Name:l}: Serilog's unquoted string
                break;
            case bool b:
                Utf8Output.Write(output, b ? "True"u8 : "False"u8);
                break;
            case char c:
                // Serilog's console renderer writes 'c', its JSON formatter's message c.
                Span<char> one = [c];
                if (quoting == Quoting.Literal)
                {
                    Utf8Output.Write(output, (byte)'\'');
                    Utf8Output.Write(output, one);
                    Utf8Output.Write(output, (byte)'\'');
                }
                else
                {
                    Utf8Output.Write(output, one);
                }
                break;
            case IEnumerable sequence:
                WriteSequence(output, sequence);
                break;
            default:
                if (IsScalar(value))
                {
                    WriteFormatted(output, value, format);
                }
                else if (value is IPEndPoint endPoint)
                {
                    // Every access log line has two: written in place, not through ToString() (no quotes inside to escape).
                    if (quoting == Quoting.Quoted)
                    {
                        Utf8Output.Write(output, (byte)'"');
                    }
                    WriteEndPoint(output, endPoint);
                    if (quoting == Quoting.Quoted)
                    {
                        Utf8Output.Write(output, (byte)'"');
                    }
                }
                else if (quoting == Quoting.Quoted || value is not IUtf8SpanFormattable)
                {
                    // Not a scalar: Serilog captured value.ToString(), a string, and renders it as one.
                    WriteString(output, value.ToString() ?? "", quoting);
                }
                else
                {
                    Utf8Output.Write(output, (IUtf8SpanFormattable)value, default);   // IPAddress: ToString() without the string
                }
                break;
        }
    }

    /// <summary>A value in the JSON line's Properties: numbers and bools as JSON, sequences as arrays, the rest as strings.</summary>
    public static void WriteJson(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null: writer.WriteNullValue(); break;
            case string s: writer.WriteStringValue(s); break;
            case bool b: writer.WriteBooleanValue(b); break;
            case int i: writer.WriteNumberValue(i); break;
            case long l: writer.WriteNumberValue(l); break;
            case uint u: writer.WriteNumberValue(u); break;
            case ulong u: writer.WriteNumberValue(u); break;
            case short s: writer.WriteNumberValue(s); break;
            case ushort u: writer.WriteNumberValue(u); break;
            case byte b: writer.WriteNumberValue(b); break;
            case sbyte s: writer.WriteNumberValue(s); break;
            case decimal d: writer.WriteNumberValue(d); break;
            case double d when double.IsFinite(d): writer.WriteNumberValue(d); break;
            case float f when float.IsFinite(f): writer.WriteNumberValue(f); break;
            case DateTimeOffset or DateTime:
                WriteFormattedString(writer, (IUtf8SpanFormattable)value, "O");   // Serilog: round-trip format, 7 digits
                break;
            case IEnumerable sequence:
                writer.WriteStartArray();
                foreach (object? item in sequence)
                {
                    WriteJson(writer, item);
                }
                writer.WriteEndArray();
                break;
            case IUtf8SpanFormattable formattable:
                WriteFormattedString(writer, formattable, default);
                break;
            case IPEndPoint endPoint:
                Span<byte> text = stackalloc byte[64];
                int length = FormatEndPoint(endPoint, text);
                if (length >= 0)
                {
                    writer.WriteStringValue(text[..length]);
                }
                else
                {
                    writer.WriteStringValue(endPoint.ToString());
                }
                break;
            default:
                writer.WriteStringValue(Convert.ToString(value, CultureInfo.InvariantCulture));
                break;
        }
    }

    private static void WriteString(IBufferWriter<byte> output, string s, Quoting quoting)
    {
        if (quoting == Quoting.Literal)
        {
            Utf8Output.Write(output, s);
        }
        else
        {
            Utf8Output.WriteQuoted(output, s);
        }
    }

    private static void WriteSequence(IBufferWriter<byte> output, IEnumerable sequence)
    {
        Utf8Output.Write(output, (byte)'[');
        bool first = true;
        foreach (object? item in sequence)
        {
            if (!first)
            {
                Utf8Output.Write(output, ", "u8);
            }
            first = false;
            WriteText(output, item, null, Quoting.Quoted);
        }
        Utf8Output.Write(output, (byte)']');
    }

    private static void WriteFormatted(IBufferWriter<byte> output, object value, string? format)
    {
        if (value is IUtf8SpanFormattable formattable)
        {
            Utf8Output.Write(output, formattable, format);
        }
        else if (value is IFormattable f)
        {
            Utf8Output.Write(output, f.ToString(format, CultureInfo.InvariantCulture));
        }
        else
        {
            Utf8Output.Write(output, value.ToString());
        }
    }

    private static void WriteFormattedString(Utf8JsonWriter writer, IUtf8SpanFormattable value, ReadOnlySpan<char> format)
    {
        Span<byte> span = stackalloc byte[128];
        if (value.TryFormat(span, out int written, format, CultureInfo.InvariantCulture))
        {
            writer.WriteStringValue(span[..written]);
        }
        else
        {
            writer.WriteStringValue((value as IFormattable)?.ToString(format.ToString(), CultureInfo.InvariantCulture) ?? value.ToString());
        }
    }

    private static void WriteEndPoint(IBufferWriter<byte> output, IPEndPoint endPoint)
    {
        int length = FormatEndPoint(endPoint, output.GetSpan(64));
        if (length >= 0)
        {
            output.Advance(length);
        }
        else
        {
            Utf8Output.Write(output, endPoint.ToString());
        }
    }

    /// <summary>IPEndPoint.ToString() ("10.0.0.1:80", "[fd00::1]:80") as UTF-8; -1 when it does not fit.</summary>
    private static int FormatEndPoint(IPEndPoint endPoint, Span<byte> output)
    {
        bool v6 = endPoint.AddressFamily == AddressFamily.InterNetworkV6;
        int at = 0;
        if (v6)
        {
            if (output.IsEmpty)
            {
                return -1;
            }
            output[at++] = (byte)'[';
        }
        if (!endPoint.Address.TryFormat(output[at..], out int written))
        {
            return -1;
        }
        at += written;
        ReadOnlySpan<byte> separator = v6 ? "]:"u8 : ":"u8;
        if (!separator.TryCopyTo(output[at..]))
        {
            return -1;
        }
        at += separator.Length;
        if (!endPoint.Port.TryFormat(output[at..], out written, default, CultureInfo.InvariantCulture))
        {
            return -1;
        }
        return at + written;
    }

    /// <summary>Serilog's built-in scalar types: kept as values (formats apply) rather than captured as strings.</summary>
    private static bool IsScalar(object value) => value is
        int or long or uint or ulong or short or ushort or byte or sbyte or float or double or decimal or
        DateTime or DateTimeOffset or TimeSpan or Guid or Uri or DateOnly or TimeOnly or Enum;
}
