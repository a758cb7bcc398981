using Ztunnel.Authorization;
using Ztunnel.Capture.Registration;
using Ztunnel.Discovery;

namespace Ztunnel.Admin;

/// <summary>
/// The admin <c>/config_dump</c> document: everything the daemon acts on right now (workloads, services,
/// policies, certificates with their expiry, registered pods and their state). Built per request, off the data path.
/// </summary>
internal sealed record ConfigDump(
    string Node,
    bool ConfigLoaded,
    int LiveConnections,
    IReadOnlyList<ConfigDump.WorkloadEntry> Workloads,
    IReadOnlyList<ConfigDump.ServiceEntry> Services,
    IReadOnlyList<ConfigDump.PolicyEntry> Policies,
    IReadOnlyList<ConfigDump.CertificateEntry> Certificates,
    IReadOnlyList<ConfigDump.PodEntry> Pods)
{
    public sealed record WorkloadEntry(string Uid, string Name, string Namespace, string ServiceAccount, IReadOnlyList<string> Addresses,
        string Node, string Protocol, IReadOnlyDictionary<string, string> Labels);

    public sealed record ServiceEntry(string Name, string Namespace, string Hostname, IReadOnlyList<string> Vips,
        IReadOnlyList<PortEntry> Ports, IReadOnlyList<EndpointEntry> Endpoints);

    public sealed record PortEntry(int Port, int TargetPort);

    public sealed record EndpointEntry(string WorkloadUid, string? Address, bool Healthy, int Weight);

    /// <summary>An AuthorizationPolicy (kind "AuthorizationPolicy", action ALLOW/DENY) or a PeerAuthentication (mode).</summary>
    public sealed record PolicyEntry(string Kind, string Namespace, string Name, string? Action, string? Mode,
        IReadOnlyDictionary<string, string>? Selector, int Rules, bool DryRun, string Location);

    /// <summary>State "valid" with its validity, or "pending" while the first issuance has not succeeded.</summary>
    public sealed record CertificateEntry(string Identity, string State, DateTimeOffset? NotBefore, DateTimeOffset? NotAfter);

    public sealed record PodEntry(string Uid, string Name, string Namespace, string Netns, IReadOnlyList<string> Ips, string State, string? Error);

    public static ConfigDump Build(string node, StateStore store, IReadOnlyList<PodStatus> pods, IReadOnlyList<CertificateEntry> certificates, int liveConnections)
    {
        MeshState state = store.Current;
        var workloads = new List<WorkloadEntry>(state.Workloads.Count);
        foreach (Workload w in state.Workloads)
        {
            workloads.Add(new WorkloadEntry(w.Uid, w.Name, w.Namespace, w.ServiceAccount, [.. w.Addresses.Select(a => a.ToString())],
                w.Node, w.Protocol == WorkloadProtocol.Hbone ? "HBONE" : "TCP", w.Labels));
        }
        var services = new List<ServiceEntry>(state.Services.Count);
        foreach (Service s in state.Services)
        {
            services.Add(new ServiceEntry(s.Name, s.Namespace, s.Hostname(), [.. s.Vips.Select(v => v.ToString())],
                [.. s.Ports.Select(p => new PortEntry(p.Port, p.TargetPort))],
                [.. s.Endpoints.Select(e => new EndpointEntry(e.WorkloadUid, e.TargetAddress?.ToString(), e.Healthy, e.Weight))]));
        }
        var policies = new List<PolicyEntry>();
        foreach (AuthorizationPolicy p in state.Policies.AuthorizationPolicies)
        {
            policies.Add(new PolicyEntry("AuthorizationPolicy", p.Ref.Namespace, p.Ref.Name, p.Action == AuthorizationAction.Allow ? "ALLOW" : "DENY",
                null, p.Selector, p.Rules.Length, p.DryRun, p.Location));
        }
        foreach (PeerAuthentication p in state.Policies.PeerAuthentications)
        {
            policies.Add(new PolicyEntry("PeerAuthentication", p.Ref.Namespace, p.Ref.Name, null, p.Mode.ToString().ToUpperInvariant(),
                p.Selector, 0, false, p.Location));
        }
        var podEntries = new List<PodEntry>(pods.Count);
        foreach (PodStatus pod in pods)
        {
            podEntries.Add(new PodEntry(pod.Pod.Uid, pod.Pod.Name, pod.Pod.Namespace, pod.Pod.Netns, pod.Pod.Ips,
                pod.State.ToString().ToLowerInvariant(), pod.Error));
        }
        return new ConfigDump(node, store.IsSynced, liveConnections, workloads, services, policies, certificates, podEntries);
    }
}
