using Microsoft.Extensions.Logging;
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

    internal static LogLevel? Parse(string level) => level.ToLowerInvariant() switch
    {
        "trace" or "verbose" => LogLevel.Trace,
        "debug" => LogLevel.Debug,
        "info" or "information" => LogLevel.Information,
        "warn" or "warning" => LogLevel.Warning,
        "error" => LogLevel.Error,
        "critical" or "fatal" => LogLevel.Critical,
        _ => null,
    };

    internal static string Name(LogLevel level) => level switch
    {
        LogLevel.Trace => "trace",
        LogLevel.Debug => "debug",
        LogLevel.Information => "info",
        LogLevel.Warning => "warning",
        LogLevel.Error => "error",
        _ => "critical",
    };
}
