using Ztunnel.Discovery;

namespace Ztunnel.Telemetry;

/// <summary>
/// A workload's canonical service and revision, by Istio's rules (istio.io pkg/kube/labels CanonicalService):
/// name from <c>service.istio.io/canonical-name</c>, else <c>app.kubernetes.io/name</c>, else <c>app</c>, else
/// the workload name; revision from <c>service.istio.io/canonical-revision</c>, else <c>app.kubernetes.io/version</c>,
/// else <c>version</c>, else "latest". Istio's ztunnel reports these as *_app and *_version too.
/// </summary>
internal static class CanonicalService
{
    public const string NameLabel = "service.istio.io/canonical-name";
    public const string RevisionLabel = "service.istio.io/canonical-revision";

    public static string Name(Workload workload) =>
        Lookup(workload.Labels, NameLabel, "app.kubernetes.io/name", "app") ?? workload.Name;

    public static string Revision(Workload workload) =>
        Lookup(workload.Labels, RevisionLabel, "app.kubernetes.io/version", "version") ?? "latest";

    private static string? Lookup(IReadOnlyDictionary<string, string> labels, string first, string second, string third) =>
        labels.TryGetValue(first, out string? value) || labels.TryGetValue(second, out value) || labels.TryGetValue(third, out value)
            ? value
            : null;
}
