using Microsoft.Extensions.Logging;
using Serilog;
using Serilog.Core;
using Serilog.Events;
using Serilog.Extensions.Logging;
using Serilog.Formatting.Json;
using Ztunnel.Discovery;

namespace Ztunnel.Daemon;

/// <summary>
/// The daemon's log pipeline: Serilog to stderr, text or JSON, with a level that can be changed at run
/// time (the admin endpoint holds <see cref="Level"/>). Kestrel's own chatter stays at Warning.
/// </summary>
internal sealed class DaemonLogging : IDisposable
{
    private readonly Serilog.Core.Logger _serilog;

    public DaemonLogging(Microsoft.Extensions.Logging.LogLevel level, AccessLogFormat format)
    {
        Level = new LoggingLevelSwitch(ToSerilog(level));
        var configuration = new LoggerConfiguration()
            .MinimumLevel.ControlledBy(Level)
            .MinimumLevel.Override("Microsoft", LogEventLevel.Warning)
            .Enrich.FromLogContext();
        configuration = format == AccessLogFormat.Json
            ? configuration.WriteTo.Console(new JsonFormatter(renderMessage: true), standardErrorFromLevel: LogEventLevel.Verbose)
            : configuration.WriteTo.Console(
                outputTemplate: "{Timestamp:yyyy-MM-ddTHH:mm:ss.fffZ} {Level:u4} {SourceContext}: {Message:lj}{NewLine}{Exception}",
                standardErrorFromLevel: LogEventLevel.Verbose);
        _serilog = configuration.CreateLogger();
        Factory = new SerilogLoggerFactory(_serilog, dispose: false);
    }

    public ILoggerFactory Factory { get; }

    /// <summary>The minimum level, changeable at run time.</summary>
    public LoggingLevelSwitch Level { get; }

    public static LogEventLevel ToSerilog(Microsoft.Extensions.Logging.LogLevel level) => level switch
    {
        Microsoft.Extensions.Logging.LogLevel.Trace => LogEventLevel.Verbose,
        Microsoft.Extensions.Logging.LogLevel.Debug => LogEventLevel.Debug,
        Microsoft.Extensions.Logging.LogLevel.Information => LogEventLevel.Information,
        Microsoft.Extensions.Logging.LogLevel.Warning => LogEventLevel.Warning,
        Microsoft.Extensions.Logging.LogLevel.Error => LogEventLevel.Error,
        _ => LogEventLevel.Fatal,
    };

    public void Dispose()
    {
        Factory.Dispose();
        _serilog.Dispose();
    }
}
