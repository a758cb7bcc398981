using Ztunnel.Capture.Registration;

namespace Ztunnel.Telemetry;

/// <summary>
/// Pods registered on this node, read from the registry at scrape time: Istio's ztunnel gauges
/// (workload_manager_active_proxy_count, workload_manager_pending_proxy_count) and ztunnel_pods by state.
/// </summary>
/// <remarks>
/// The two Istio names end in "_count", which <c>promtool check metrics</c> flags (a suffix it reserves for
/// histograms and summaries). They are kept so Istio's ztunnel dashboards work unchanged; they are the only
/// lint findings (<see cref="LintExceptions"/>), and our own dashboard uses the lint-clean ztunnel_pods.
/// </remarks>
internal sealed class PodMetrics : IMetricsCollector
{
    public static readonly MetricFamily Active = new("workload_manager_active_proxy_count", "The total number of pods whose traffic the node proxy captures", MetricType.Gauge);
    public static readonly MetricFamily Pending = new("workload_manager_pending_proxy_count", "The total number of pods registered but not yet set up", MetricType.Gauge);
    public static readonly MetricFamily ByState = new("ztunnel_pods", "Pods registered on this node, by state (pending, ready, failed)", MetricType.Gauge);

    /// <summary>Metric names kept for Istio compatibility although promtool's linter flags them.</summary>
    public static readonly IReadOnlyList<string> LintExceptions = [Active.Name, Pending.Name];

    private static readonly LabelSet PendingLabels = LabelSet.Of(("state", "pending"));
    private static readonly LabelSet ReadyLabels = LabelSet.Of(("state", "ready"));
    private static readonly LabelSet FailedLabels = LabelSet.Of(("state", "failed"));

    private readonly Func<IReadOnlyList<PodStatus>> _pods;

    public PodMetrics(Func<IReadOnlyList<PodStatus>> pods)
    {
        _pods = pods;
    }

    public void Collect(PrometheusWriter writer)
    {
        int pending = 0, ready = 0, failed = 0;
        foreach (PodStatus pod in _pods())
        {
            switch (pod.State)
            {
                case PodState.Pending:
                    pending++;
                    break;
                case PodState.Ready:
                    ready++;
                    break;
                default:
                    failed++;
                    break;
            }
        }
        writer.Write(Active, ready);
        writer.Write(Pending, pending);
        writer.WriteHeader(ByState);
        writer.WriteSample(ByState, PendingLabels, pending);
        writer.WriteSample(ByState, ReadyLabels, ready);
        writer.WriteSample(ByState, FailedLabels, failed);
    }
}
