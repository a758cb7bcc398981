namespace Ztunnel.Capture;

/// <summary>
/// Capture could not be set up or queried: a namespace, a socket option, or a rule command failed.
/// The message names the pod netns, the command or call, and what the kernel or the tool said.
/// </summary>
public sealed class CaptureException : Exception
{
    public CaptureException(string message)
        : base(message)
    {
    }

    public CaptureException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public CaptureException(string message, int errno)
        : base(message)
    {
        Errno = errno;
    }

    public CaptureException()
    {
    }

    /// <summary>The errno of the failed libc call, or 0 when the failure was not a libc call.</summary>
    public int Errno { get; }
}
