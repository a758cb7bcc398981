namespace Ztunnel.Capture.Registration;

/// <summary>A registration API call failed; the message is the daemon's reason or why it could not be reached.</summary>
public sealed class RegistrationException : Exception
{
    public RegistrationException() { }
    public RegistrationException(string message) : base(message) { }
    public RegistrationException(string message, Exception inner) : base(message, inner) { }

    public RegistrationException(string message, Exception inner, bool daemonUnreachable) : base(message, inner)
    {
        DaemonUnreachable = daemonUnreachable;
    }

    /// <summary>True when nothing answered on the socket (the daemon is not running).</summary>
    public bool DaemonUnreachable { get; }
}
