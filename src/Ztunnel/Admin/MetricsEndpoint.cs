using Ztunnel.Admin.Http;
using Ztunnel.Telemetry;

namespace Ztunnel.Admin;

/// <summary>The Prometheus scrape endpoint (DESIGN §2, :15020): <c>/metrics</c> and Istio's <c>/stats/prometheus</c>.</summary>
internal sealed class MetricsEndpoint(MetricsRegistry registry)
{
    public ValueTask HandleAsync(HttpRequest request, HttpResponse response, CancellationToken stopping)
    {
        string path = request.Path;
        if (path is not ("/metrics" or "/stats/prometheus"))
        {
            response.Text(404, $"no such resource: {path}; metrics are on /metrics and /stats/prometheus\n");
        }
        else if (!request.IsGetOrHead)
        {
            response.Allow = "GET, HEAD";
            response.Text(405, $"{request.Method} is not supported on {path}\n");
        }
        else
        {
            response.ContentType = PrometheusWriter.ContentType;
            // Written straight into the pooled response buffer: no intermediate copy, nothing allocated per line.
            registry.WriteTo(response.Body);
        }
        return ValueTask.CompletedTask;
    }
}
