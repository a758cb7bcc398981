namespace Ztunnel.Discovery;

/// <summary>A parsed and validated local configuration file.</summary>
/// <param name="Source">The file it came from (as given on the command line).</param>
/// <param name="Settings">The daemon settings.</param>
/// <param name="State">The mesh state (workloads, services, policies) the file describes.</param>
/// <param name="Warnings">Problems that did not stop loading (unknown keys), each with file and line.</param>
internal sealed record LocalConfig(string Source, DaemonSettings Settings, MeshState State, IReadOnlyList<ConfigDiagnostic> Warnings);
