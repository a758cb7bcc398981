namespace Ztunnel.Discovery;

/// <summary>A configuration file that cannot be used; <see cref="Errors"/> lists every problem found.</summary>
internal sealed class ConfigException : Exception
{
    public ConfigException(IReadOnlyList<ConfigDiagnostic> errors)
        : base(string.Join(Environment.NewLine, errors))
    {
        Errors = errors;
    }

    public ConfigException() : this([])
    {
    }

    public ConfigException(string message) : base(message)
    {
        Errors = [];
    }

    public ConfigException(string message, Exception inner) : base(message, inner)
    {
        Errors = [];
    }

    public IReadOnlyList<ConfigDiagnostic> Errors { get; }
}
