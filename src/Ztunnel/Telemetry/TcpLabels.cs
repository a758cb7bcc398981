using Ztunnel.Discovery;
using Ztunnel.Tls;

namespace Ztunnel.Telemetry;

/// <summary>
/// Renders Istio's TCP label set (names and order as Istio's ztunnel exports them) for a connection; "unknown"
/// for every value that is missing. Called once per connection event, never per chunk.
/// </summary>
internal static class TcpLabels
{
    /// <summary>Istio's default cluster id, reported for workloads the daemon knows.</summary>
    public const string DefaultClusterId = "Kubernetes";

    public static void Render(ref LabelWriter writer, in ConnectionPeers peers, string responseFlags, string clusterId)
    {
        writer.Add("reporter", peers.Reporter);

        Workload? source = peers.Source;
        writer.Add("source_workload", source?.Name);
        string? sourceCanonical = source is null ? null : CanonicalService.Name(source);
        string? sourceRevision = source is null ? null : CanonicalService.Revision(source);
        writer.Add("source_canonical_service", sourceCanonical);
        writer.Add("source_canonical_revision", sourceRevision);
        writer.Add("source_workload_namespace", source?.Namespace);
        AddPrincipal(ref writer, "source_principal", peers.SourcePrincipal);
        writer.Add("source_app", sourceCanonical);
        writer.Add("source_version", sourceRevision);
        writer.Add("source_cluster", source is null ? null : clusterId);

        Service? service = peers.Service;
        AddServiceHost(ref writer, service);
        writer.Add("destination_service_namespace", service?.Namespace);
        writer.Add("destination_service_name", service?.Name);

        Workload? destination = peers.Destination;
        writer.Add("destination_workload", destination?.Name);
        string? destinationCanonical = destination is null ? null : CanonicalService.Name(destination);
        string? destinationRevision = destination is null ? null : CanonicalService.Revision(destination);
        writer.Add("destination_canonical_service", destinationCanonical);
        writer.Add("destination_canonical_revision", destinationRevision);
        writer.Add("destination_workload_namespace", destination?.Namespace);
        AddPrincipal(ref writer, "destination_principal", peers.DestinationPrincipal);
        writer.Add("destination_app", destinationCanonical);
        writer.Add("destination_version", destinationRevision);
        writer.Add("destination_cluster", destination is null ? null : clusterId);

        writer.Add("request_protocol", "tcp");
        writer.Add("response_flags", responseFlags);
        writer.Add("connection_security_policy", peers.SecurityPolicy);
    }

    // The in-cluster DNS name, as Service.Hostname() has it; in pieces so that no string is built per connection.
    private static void AddServiceHost(ref LabelWriter writer, Service? service)
    {
        if (service is null)
        {
            writer.Add("destination_service", null);
            return;
        }
        writer.StartLabel("destination_service");
        writer.AppendValue(service.Name);
        writer.AppendValue(".");
        writer.AppendValue(service.Namespace);
        writer.AppendValue(".svc.cluster.local");
        writer.EndValue();
    }

    // Written in pieces: SpiffeId.ToString() would allocate a string per connection.
    private static void AddPrincipal(ref LabelWriter writer, string name, SpiffeId? principal)
    {
        if (principal is not { } id)
        {
            writer.Add(name, null);
            return;
        }
        writer.StartLabel(name);
        writer.AppendValue("spiffe://");
        writer.AppendValue(id.TrustDomain);
        writer.AppendValue("/ns/");
        writer.AppendValue(id.Namespace);
        writer.AppendValue("/sa/");
        writer.AppendValue(id.ServiceAccount);
        writer.EndValue();
    }
}
