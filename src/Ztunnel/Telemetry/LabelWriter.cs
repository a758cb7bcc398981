using System.Buffers;

namespace Ztunnel.Telemetry;

/// <summary>
/// Renders a label set into a pooled buffer: <c>{name="value",...}</c> with values escaped per the text
/// exposition format 0.0.4 (backslash, double quote and line feed). The result is a span, so a caller can
/// look up an existing series without allocating a string (see <see cref="TcpMetrics"/>).
/// </summary>
internal ref struct LabelWriter
{
    private char[] _buffer;
    private int _length;

    public LabelWriter(int capacity)
    {
        _buffer = ArrayPool<char>.Shared.Rent(capacity);
        _length = 0;
    }

    /// <summary>Adds <paramref name="name"/>=<paramref name="value"/>; a null or empty value becomes "unknown" (as Istio reports missing values).</summary>
    public void Add(string name, string? value)
    {
        StartLabel(name);
        AppendEscaped(string.IsNullOrEmpty(value) ? "unknown" : value);
        Append('"');
    }

    /// <summary>Starts a label whose value the caller appends in pieces with <see cref="AppendValue"/>, then ends with <see cref="EndValue"/>.</summary>
    public void StartLabel(string name)
    {
        Append(_length == 0 ? '{' : ',');
        Append(name);
        Append('=');
        Append('"');
    }

    public void AppendValue(ReadOnlySpan<char> part) => AppendEscaped(part);

    public void EndValue() => Append('"');

    /// <summary>Closes the set; the span is valid until <see cref="Dispose"/>. No labels render as the empty string.</summary>
    public ReadOnlySpan<char> Complete()
    {
        if (_length > 0)
        {
            Append('}');
        }
        return _buffer.AsSpan(0, _length);
    }

    public void Dispose()
    {
        char[] buffer = _buffer;
        _buffer = [];
        if (buffer.Length > 0)
        {
            ArrayPool<char>.Shared.Return(buffer);
        }
    }

    private void AppendEscaped(ReadOnlySpan<char> value)
    {
        foreach (char c in value)
        {
            switch (c)
            {
                case '\\':
                    Append('\\');
                    Append('\\');
                    break;
                case '"':
                    Append('\\');
                    Append('"');
                    break;
                case '\n':
                    Append('\\');
                    Append('n');
                    break;
                default:
                    Append(c);
                    break;
            }
        }
    }

    private void Append(ReadOnlySpan<char> text)
    {
        Ensure(text.Length);
        text.CopyTo(_buffer.AsSpan(_length));
        _length += text.Length;
    }

    private void Append(char c)
    {
        Ensure(1);
        _buffer[_length++] = c;
    }

    private void Ensure(int more)
    {
        if (_length + more <= _buffer.Length)
        {
            return;
        }
        char[] bigger = ArrayPool<char>.Shared.Rent(Math.Max(_buffer.Length * 2, _length + more));
        _buffer.AsSpan(0, _length).CopyTo(bigger);
        ArrayPool<char>.Shared.Return(_buffer);
        _buffer = bigger;
    }
}
