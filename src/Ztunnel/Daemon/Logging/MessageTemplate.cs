using System.Collections.Concurrent;
using System.Text;

namespace Ztunnel.Daemon.Logging;

/// <summary>
/// A parsed message template ("connection complete src.addr={SrcAddr} ..."), with Serilog's rules: `{{` and `}}`
/// are literal braces, `{Name}`, `{Name:format}` and `{Name,alignment}` are holes (alignment not applied) (a leading @ or $ is dropped
/// from the name), anything else in braces is text. Parsed once per template string and cached: the
/// [LoggerMessage] templates are constants, so the cache holds one entry per call site.
/// </summary>
internal sealed class MessageTemplate
{
    public const string OriginalFormat = "{OriginalFormat}";

    // Bounds the cache when a caller logs interpolated (ever-changing) templates; past it, templates are parsed per call.
    private const int CacheLimit = 2048;
    private static readonly ConcurrentDictionary<string, MessageTemplate> s_cache = new(StringComparer.Ordinal);

    private MessageTemplate(string text, Token[] tokens)
    {
        Text = text;
        Tokens = tokens;
        foreach (Token token in tokens)
        {
            HasFormats |= token.Format is not null;
        }
    }

    /// <summary>The template as written (Serilog's "MessageTemplate" field).</summary>
    public string Text { get; }

    public Token[] Tokens { get; }

    /// <summary>True when a hole has a format (the JSON line then carries "Renderings").</summary>
    public bool HasFormats { get; }

    public static MessageTemplate Get(string text)
    {
        if (s_cache.TryGetValue(text, out MessageTemplate? template))
        {
            return template;
        }
        template = Parse(text);
        if (s_cache.Count < CacheLimit)
        {
            s_cache.TryAdd(text, template);
        }
        return template;
    }

    /// <summary>True when a MEL state key names this hole (`{@Pod}` logs its value under "@Pod" or "Pod").</summary>
    public static bool SameName(string key, string holeName) =>
        ReferenceEquals(key, holeName) || key.AsSpan().TrimStart("@$").SequenceEqual(holeName);

    /// <summary>A state key as a JSON property name (Serilog drops the @ and $ operators).</summary>
    public static string PropertyName(string key) => key.Length > 0 && key[0] is '@' or '$' ? key[1..] : key;

    private static MessageTemplate Parse(string text)
    {
        var tokens = new List<Token>();
        var literal = new StringBuilder();
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            if (c == '{' && i + 1 < text.Length && text[i + 1] == '{')
            {
                literal.Append('{');
                i += 2;
            }
            else if (c == '}' && i + 1 < text.Length && text[i + 1] == '}')
            {
                literal.Append('}');
                i += 2;
            }
            else if (c == '{' && TryParseHole(text, i, out Token hole, out int end))
            {
                if (literal.Length > 0)
                {
                    tokens.Add(Token.Text(literal.ToString()));
                    literal.Clear();
                }
                tokens.Add(hole);
                i = end;
            }
            else
            {
                literal.Append(c);
                i++;
            }
        }
        if (literal.Length > 0)
        {
            tokens.Add(Token.Text(literal.ToString()));
        }
        return new MessageTemplate(text, [.. tokens]);
    }

    private static bool TryParseHole(string text, int start, out Token hole, out int end)
    {
        hole = default;
        end = text.IndexOf('}', start + 1);
        if (end < 0)
        {
            return false;
        }
        ReadOnlySpan<char> inside = text.AsSpan(start + 1, end - start - 1);
        end++;
        string? format = null;
        int colon = inside.IndexOf(':');
        if (colon >= 0)
        {
            format = inside[(colon + 1)..].ToString();
            inside = inside[..colon];
        }
        int comma = inside.IndexOf(',');
        if (comma >= 0)
        {
            // An alignment (`{Name,6}`) is accepted and not applied: no daemon message uses one.
            if (!int.TryParse(inside[(comma + 1)..], out _))
            {
                return false;
            }
            inside = inside[..comma];
        }
        inside = inside.TrimStart("@$");
        if (inside.IsEmpty)
        {
            return false;
        }
        foreach (char c in inside)
        {
            if (!char.IsLetterOrDigit(c) && c != '_')
            {
                return false;
            }
        }
        hole = new Token(inside.ToString(), format, text[start..end]);
        return true;
    }

    /// <summary>Literal text (<see cref="Name"/> null, <see cref="Raw"/> the unescaped text) or a hole.</summary>
    internal readonly record struct Token(string? Name, string? Format, string Raw)
    {
        public bool IsHole => Name is not null;

        public static Token Text(string text) => new(null, null, text);
    }
}
