using System.Text.Json.Serialization;

namespace Ztunnel.Admin;

/// <summary>Source-generated JSON for the admin endpoints (camelCase, indented: read by people and jq).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, WriteIndented = true,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ConfigDump))]
[JsonSerializable(typeof(LoggingState))]
internal sealed partial class AdminJsonContext : JsonSerializerContext;
