using Serilog.Events;
using Ztunnel.Admin.Http;

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

    public ValueTask HandleAsync(HttpRequest request, HttpResponse response, CancellationToken stopping)
    {
        string path = request.Path;
        switch (path)
        {
            case "/" when request.IsGetOrHead:
                response.Text(200, Index);
                break;
            case "/config_dump" when request.IsGetOrHead:
                response.WriteJson(200, ConfigDump.Build(sources.NodeName, sources.State, sources.Pods(), sources.Certificates(), sources.LiveConnections()),
                    AdminJsonContext.Default.ConfigDump);
                break;
            case "/logging" when request.IsGetOrHead:
                WriteLevel(response);
                break;
            case "/logging" when request.Method is "POST" or "PUT":
                SetLevel(request, response);
                break;
            case "/quitquitquit" when request.Method == "POST":
                sources.Quit();
                response.Text(200, "draining\n");
                break;
            case "/" or "/config_dump" or "/logging" or "/quitquitquit":
                response.Allow = path switch
                {
                    "/logging" => "GET, HEAD, POST, PUT",
                    "/quitquitquit" => "POST",
                    _ => "GET, HEAD",
                };
                response.Text(405, $"{request.Method} is not supported on {path}\n");
                break;
            default:
                response.Text(404, $"no such resource: {path}\n\n{Index}");
                break;
        }
        return ValueTask.CompletedTask;
    }

    private void WriteLevel(HttpResponse response) =>
        response.WriteJson(200, new LoggingState(Name(sources.LogLevel.MinimumLevel)), AdminJsonContext.Default.LoggingState);

    private void SetLevel(HttpRequest request, HttpResponse response)
    {
        string? requested = request.QueryValue("level");
        if (string.IsNullOrEmpty(requested))
        {
            response.Text(400, "level is required, e.g. POST /logging?level=debug\n");
        }
        else if (Parse(requested) is not { } level)
        {
            response.Text(400, $"level '{requested}' is not one of trace, debug, info, warning, error, critical\n");
        }
        else
        {
            sources.LogLevel.MinimumLevel = level;
            WriteLevel(response);
        }
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
