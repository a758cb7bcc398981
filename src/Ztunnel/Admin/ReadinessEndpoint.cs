using System.Text;
using Ztunnel.Admin.Http;
using Ztunnel.Capture.Registration;
using Ztunnel.Discovery;

namespace Ztunnel.Admin;

/// <summary>
/// Readiness (DESIGN §9, :15021 <c>/healthz/ready</c>): 200 once the configuration is loaded and every registered
/// pod is set up; otherwise 503 with one line per thing still pending or failed. A draining daemon is not ready,
/// so load balancers stop sending it new work while its connections finish.
/// </summary>
internal sealed class ReadinessEndpoint(StateStore state, Func<IReadOnlyList<PodStatus>> pods, Func<bool>? draining = null)
{
    public const string Path = "/healthz/ready";

    /// <summary>What keeps the daemon from being ready; empty when it is ready.</summary>
    public IReadOnlyList<string> NotReady()
    {
        var problems = new List<string>();
        if (draining?.Invoke() == true)
        {
            problems.Add("draining: the daemon is shutting down");
        }
        if (!state.IsSynced)
        {
            problems.Add("configuration not loaded yet");
        }
        foreach (PodStatus pod in pods())
        {
            switch (pod.State)
            {
                case PodState.Pending:
                    problems.Add($"pod {pod.Pod}: pending (being set up)");
                    break;
                case PodState.Failed:
                    problems.Add($"pod {pod.Pod}: failed: {pod.Error}");
                    break;
            }
        }
        return problems;
    }

    public ValueTask HandleAsync(HttpRequest request, HttpResponse response, CancellationToken stopping)
    {
        if (request.Path != Path)
        {
            response.Text(404, $"no such resource: {request.Path}; readiness is on {Path}\n");
        }
        else if (!request.IsGetOrHead)
        {
            response.Allow = "GET, HEAD";
            response.Text(405, $"{request.Method} is not supported on {Path}\n");
        }
        else if (NotReady() is { Count: > 0 } problems)
        {
            var text = new StringBuilder("not ready:\n");
            foreach (string problem in problems)
            {
                text.Append("  ").Append(problem).Append('\n');
            }
            response.Text(503, text.ToString());
        }
        else
        {
            response.Text(200, "ready\n");
        }
        return ValueTask.CompletedTask;
    }
}
