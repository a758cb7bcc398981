using System.Text;

namespace Ztunnel.Telemetry;

/// <summary>
/// A metric's name, help and type, with its <c># HELP</c>/<c># TYPE</c> header pre-rendered in UTF-8, so a scrape
/// copies bytes instead of formatting. Declared once (static) per metric.
/// </summary>
internal sealed class MetricFamily
{
    public MetricFamily(string name, string help, MetricType type)
    {
        if (!IsValidName(name))
        {
            throw new ArgumentException($"metric name '{name}' is not a valid Prometheus name ([a-zA-Z_:][a-zA-Z0-9_:]*)", nameof(name));
        }
        // Prometheus (and OpenMetrics) expect counters to end in _total; a counter without it is a naming bug here.
        if (type == MetricType.Counter && !name.EndsWith("_total", StringComparison.Ordinal))
        {
            throw new ArgumentException($"counter '{name}' must end in _total", nameof(name));
        }
        Name = name;
        Help = help;
        Type = type;
        NameUtf8 = Encoding.UTF8.GetBytes(name);
        string typeText = type == MetricType.Counter ? "counter" : "gauge";
        Header = Encoding.UTF8.GetBytes($"# HELP {name} {EscapeHelp(help)}\n# TYPE {name} {typeText}\n");
    }

    public string Name { get; }
    public string Help { get; }
    public MetricType Type { get; }
    public byte[] NameUtf8 { get; }

    /// <summary>The <c># HELP</c> and <c># TYPE</c> lines, newline-terminated.</summary>
    public byte[] Header { get; }

    internal static bool IsValidName(string name)
    {
        if (name.Length == 0)
        {
            return false;
        }
        for (int i = 0; i < name.Length; i++)
        {
            char c = name[i];
            bool ok = c is (>= 'a' and <= 'z') or (>= 'A' and <= 'Z') or '_' or ':' || (i > 0 && c is >= '0' and <= '9');
            if (!ok)
            {
                return false;
            }
        }
        return true;
    }

    // Exposition format 0.0.4: in HELP text only backslash and line feed are escaped.
    internal static string EscapeHelp(string help) => help.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
