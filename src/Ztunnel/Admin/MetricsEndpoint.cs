using Microsoft.AspNetCore.Http;
using Ztunnel.Telemetry;

namespace Ztunnel.Admin;

/// <summary>The Prometheus scrape endpoint (DESIGN §2, :15020): <c>/metrics</c> and Istio's <c>/stats/prometheus</c>.</summary>
internal sealed class MetricsEndpoint(MetricsRegistry registry)
{
    public async Task HandleAsync(HttpContext context)
    {
        string path = context.Request.Path.Value ?? "";
        if (path is not ("/metrics" or "/stats/prometheus"))
        {
            await AdminResponses.TextAsync(context, StatusCodes.Status404NotFound, $"no such resource: {path}; metrics are on /metrics and /stats/prometheus\n");
            return;
        }
        if (!HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method))
        {
            await AdminResponses.TextAsync(context, StatusCodes.Status405MethodNotAllowed, $"{context.Request.Method} is not supported on {path}\n");
            return;
        }
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = PrometheusWriter.ContentType;
        // Written straight into the response pipe: no intermediate copy of the exposition.
        registry.WriteTo(context.Response.BodyWriter);
        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }
}
