using Microsoft.AspNetCore.Http;
using Serilog.Events;

namespace Ztunnel.Admin;

/// <summary>
/// The admin endpoint (DESIGN §2, 127.0.0.1:15000, localhost only: it can stop the daemon):
/// <code>
/// GET  /                         index of the endpoints
/// GET  /config_dump              JSON: workloads, services, policies, certificates, pods
/// GET  /logging                  JSON: the current level
/// POST /logging?level=debug      changes the level (trace, debug, info, warning, error, critical)
/// POST /quitquitquit             graceful drain, as SIGTERM
/// </code>
/// </summary>
internal sealed class AdminEndpoint(AdminSources sources)
{
    private const string Index =
        "ztunnel admin\n" +
        "  GET  /config_dump            workloads, services, policies, certificates, registered pods (JSON)\n" +
        "  GET  /logging                current log level\n" +
        "  POST /logging?level=LEVEL    change the log level (trace, debug, info, warning, error, critical)\n" +
        "  POST /quitquitquit           drain connections and exit (as SIGTERM)\n";

    public Task HandleAsync(HttpContext context)
    {
        string path = context.Request.Path.Value ?? "";
        string method = context.Request.Method;
        return path switch
        {
            "/" when HttpMethods.IsGet(method) => AdminResponses.TextAsync(context, StatusCodes.Status200OK, Index),
            "/config_dump" when HttpMethods.IsGet(method) => AdminResponses.JsonAsync(context, StatusCodes.Status200OK,
                ConfigDump.Build(sources.NodeName, sources.State, sources.Pods(), sources.Certificates(), sources.LiveConnections()),
                AdminJsonContext.Default.ConfigDump),
            "/logging" when HttpMethods.IsGet(method) => WriteLevelAsync(context),
            "/logging" when HttpMethods.IsPost(method) || HttpMethods.IsPut(method) => SetLevelAsync(context),
            "/quitquitquit" when HttpMethods.IsPost(method) => QuitAsync(context),
            "/" or "/config_dump" or "/logging" or "/quitquitquit" =>
                AdminResponses.TextAsync(context, StatusCodes.Status405MethodNotAllowed, $"{method} is not supported on {path}\n"),
            _ => AdminResponses.TextAsync(context, StatusCodes.Status404NotFound, $"no such resource: {path}\n\n{Index}"),
        };
    }

    private Task WriteLevelAsync(HttpContext context) =>
        AdminResponses.JsonAsync(context, StatusCodes.Status200OK, new LoggingState(Name(sources.LogLevel.MinimumLevel)), AdminJsonContext.Default.LoggingState);

    private Task SetLevelAsync(HttpContext context)
    {
        string? requested = context.Request.Query["level"];
        if (string.IsNullOrEmpty(requested))
        {
            return AdminResponses.TextAsync(context, StatusCodes.Status400BadRequest, "level is required, e.g. POST /logging?level=debug\n");
        }
        if (Parse(requested) is not { } level)
        {
            return AdminResponses.TextAsync(context, StatusCodes.Status400BadRequest,
                $"level '{requested}' is not one of trace, debug, info, warning, error, critical\n");
        }
        sources.LogLevel.MinimumLevel = level;
        return WriteLevelAsync(context);
    }

    private Task QuitAsync(HttpContext context)
    {
        sources.Quit();
        return AdminResponses.TextAsync(context, StatusCodes.Status200OK, "draining\n");
    }

    internal static LogEventLevel? Parse(string level) => level.ToLowerInvariant() switch
    {
        "trace" or "verbose" => LogEventLevel.Verbose,
        "debug" => LogEventLevel.Debug,
        "info" or "information" => LogEventLevel.Information,
        "warn" or "warning" => LogEventLevel.Warning,
        "error" => LogEventLevel.Error,
        "critical" or "fatal" => LogEventLevel.Fatal,
        _ => null,
    };

    internal static string Name(LogEventLevel level) => level switch
    {
        LogEventLevel.Verbose => "trace",
        LogEventLevel.Debug => "debug",
        LogEventLevel.Information => "info",
        LogEventLevel.Warning => "warning",
        LogEventLevel.Error => "error",
        _ => "critical",
    };
}
