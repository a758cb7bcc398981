using System.Net;
using Microsoft.Extensions.Logging;

namespace Ztunnel.Tests.Daemon.Logging;

/// <summary>
/// The events behind serilog-reference.txt/.json: those files are what the daemon's former pipeline (Serilog 3.1.1,
/// Serilog.Extensions.Logging 8.0.0, Serilog.Sinks.Console 5.0.0, configured as DaemonLogging was) wrote for exactly
/// these calls, with the timestamps set to <see cref="FixedTime.Instant"/>.
/// </summary>
internal static partial class ReferenceEvents
{
    public static void LogAll(ILoggerFactory factory, Action switchToWarning)
    {
        // Not the access log category: that one logs from Information whatever the level switch says (the lines were
        // captured under "Ztunnel.AccessLog" from Serilog, which had no such rule, and renamed; nothing else differs).
        ILogger logger = factory.CreateLogger("Ztunnel.Reference");
        var ep = new IPEndPoint(IPAddress.Parse("10.0.0.1"), 40000);
        Values(logger, "sleep", 42, 1234567890123L, true, ep, IPAddress.Parse("10.0.0.2"), null, TimeSpan.FromMilliseconds(1500), DayOfWeek.Monday,
            12.345678, new DateTimeOffset(2026, 1, 2, 3, 4, 5, 678, TimeSpan.Zero), new Pod("p", 7), 'c', 0.1f, -5);
        Escapes(logger, "q\"uote back\\slash nl\nline tab\tx ctl\u0001x del\u007fx e\u00e9 <&>'+ emoji\U0001F600 ls\u2028x");
        Failed(factory.CreateLogger("Ztunnel.Proxy.Inbound"), new InvalidOperationException("boom \"x\"", new IOException("disk gone")), "dst");
        Braces(logger, 3);
        Levels0(logger, 1);
        Levels1(logger, 1);
        Levels3(logger, 1);
        Levels4(logger, 1);
        Levels5(logger, 1);
#pragma warning disable CA1848, CA2254 // the extension methods on purpose: their state is MEL's FormattedLogValues
        logger.LogInformation("plain {X} and {Y}", 1, "two");
        logger.LogInformation(new EventId(77), "id only {X}", 1);
        logger.LogInformation(new EventId(0, "NameOnly"), "name only");
        logger.LogInformation("no holes");
        ILogger framework = factory.CreateLogger("Microsoft.AspNetCore.Server");
        framework.LogInformation("hidden info");
        framework.LogWarning("shown warning {X}", 5);
        factory.CreateLogger("MicrosoftX").LogInformation("mx info");
        factory.CreateLogger("Ztunnel.Microsoft").LogInformation("zm info");
        Missing(logger, "a");
        Ints(logger, [1, 2], ["a", "b"]);
        logger.Log(LogLevel.Information, new EventId(5), "raw \"state\"", null, (s, _) => s + "!");
        switchToWarning();
        logger.LogInformation("after switch hidden");
        logger.LogWarning("after switch shown");
#pragma warning restore CA1848, CA2254
    }

    internal sealed record Pod(string Name, int Uid);

    [LoggerMessage(EventId = 1500, Level = LogLevel.Information, Message = "values s={S} i={I} l={L} b={B} ep={Ep} ip={Ip} n={N} ts={Ts} e={E} d={D:F1} dto={Dto:u} rec={Rec} c={C} f={F} neg={Neg}")]
    private static partial void Values(ILogger logger, string s, int i, long l, bool b, IPEndPoint ep, IPAddress ip, string? n, TimeSpan ts, DayOfWeek e, double d, DateTimeOffset dto, Pod rec, char c, float f, int neg);

    [LoggerMessage(EventId = 1501, Level = LogLevel.Information, Message = "escapes {Value}")]
    private static partial void Escapes(ILogger logger, string value);

    [LoggerMessage(EventId = 900, Level = LogLevel.Warning, Message = "failed for {Dst}")]
    private static partial void Failed(ILogger logger, Exception ex, string dst);

    [LoggerMessage(EventId = 901, Level = LogLevel.Information, Message = "braces {{literal}} {N} }}")]
    private static partial void Braces(ILogger logger, int n);

    [LoggerMessage(EventId = 10, Level = LogLevel.Trace, Message = "trace {N}")]
    private static partial void Levels0(ILogger logger, int n);

    [LoggerMessage(EventId = 11, Level = LogLevel.Debug, Message = "debug {N}")]
    private static partial void Levels1(ILogger logger, int n);

    [LoggerMessage(EventId = 13, Level = LogLevel.Warning, Message = "warning {N}")]
    private static partial void Levels3(ILogger logger, int n);

    [LoggerMessage(EventId = 14, Level = LogLevel.Error, Message = "error {N}")]
    private static partial void Levels4(ILogger logger, int n);

    [LoggerMessage(EventId = 15, Level = LogLevel.Critical, Message = "critical {N}")]
    private static partial void Levels5(ILogger logger, int n);

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "missing {A}")]
    private static partial void Missing(ILogger logger, string a);

    [LoggerMessage(EventId = 21, Level = LogLevel.Information, Message = "seq {Ints} {Strs}")]
    private static partial void Ints(ILogger logger, int[] ints, List<string> strs);
}
