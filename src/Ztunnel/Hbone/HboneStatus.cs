namespace Ztunnel.Hbone;

/// <summary>
/// HTTP status codes of a CONNECT response and what they mean in HBONE (DESIGN §4). The mapping from a
/// failure to a status is written here once.
/// </summary>
public enum HboneStatus
{
    /// <summary>The upstream app connection succeeded; the tunnel is open.</summary>
    Ok = 200,

    /// <summary>Malformed request, or the target is not the pod this listener serves.</summary>
    BadRequest = 400,

    /// <summary>Denied by authorization policy.</summary>
    Unauthorized = 401,

    /// <summary>Unknown workload, or the upstream app connection failed.</summary>
    ServiceUnavailable = 503,
}

/// <summary>A CONNECT answered with something other than 200.</summary>
public sealed class HboneConnectException : IOException
{
    public HboneConnectException(int statusCode, string authority)
        : base($"HBONE CONNECT to {authority} was answered with HTTP {statusCode} ({Describe(statusCode)})")
    {
        StatusCode = statusCode;
        Authority = authority;
    }

    public HboneConnectException() : this(0, "?") { }
    public HboneConnectException(string message) : base(message) { }
    public HboneConnectException(string message, Exception inner) : base(message, inner) { }

    public int StatusCode { get; }
    public string Authority { get; } = "?";

    /// <summary>The status as a known HBONE status, if it is one.</summary>
    public HboneStatus? Status => Enum.IsDefined(typeof(HboneStatus), StatusCode) ? (HboneStatus)StatusCode : null;

    public static string Describe(int statusCode) => statusCode switch
    {
        400 => "bad request: malformed CONNECT or the target is not this pod",
        401 => "denied by authorization policy",
        503 => "unknown workload or upstream connect failed",
        _ => "unexpected status",
    };
}
