namespace Ztunnel.Hbone.Server;

/// <summary>The handler's answer to a CONNECT: a session to run, or a status and why.</summary>
public readonly struct HboneAcceptResult
{
    private HboneAcceptResult(HboneStatus status, string? reason, IHboneSession? session)
    {
        Status = status;
        Reason = reason;
        Session = session;
    }

    public HboneStatus Status { get; }

    /// <summary>Why it was rejected, for the log (never sent to the client).</summary>
    public string? Reason { get; }

    public IHboneSession? Session { get; }

    public bool IsAccepted => Session is not null;

    public static HboneAcceptResult Accept(IHboneSession session)
    {
        ArgumentNullException.ThrowIfNull(session);
        return new(HboneStatus.Ok, null, session);
    }

    public static HboneAcceptResult Reject(HboneStatus status, string reason)
    {
        if (status == HboneStatus.Ok)
        {
            throw new ArgumentOutOfRangeException(nameof(status), status, "a rejection needs a non-200 status");
        }
        return new(status, reason, null);
    }
}
