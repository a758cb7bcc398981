using System.Text.Json.Serialization;

namespace Ztunnel.Capture.Registration;

/// <summary>Source-generated JSON for the registration API (no reflection at run time).</summary>
[JsonSourceGenerationOptions(WriteIndented = false, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(PodRegistration))]
[JsonSerializable(typeof(PodStatus))]
[JsonSerializable(typeof(IReadOnlyList<PodStatus>))]
[JsonSerializable(typeof(IReadOnlyList<PodRegistration>))]
[JsonSerializable(typeof(List<PodRegistration>))]
[JsonSerializable(typeof(ApiError))]
internal sealed partial class RegistrationJsonContext : JsonSerializerContext
{
    /// <summary>Messages quote names ('x'); keep them readable for an operator using curl.</summary>
    public static RegistrationJsonContext Readable { get; } = new(new System.Text.Json.JsonSerializerOptions
    {
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    });
}

/// <summary>The body of every non-2xx answer of the registration API.</summary>
internal sealed record ApiError([property: JsonPropertyName("error")] string Error);
