using System.Reflection;

namespace Ztunnel.E2E.Mesh;

/// <summary>
/// The built <c>ztunnel</c> executable the tests run as real processes: the daemon project's own build
/// output of the same configuration as the tests (the test project references it, so it is built first),
/// with its own runtimeconfig and dependencies. <c>ZTUNNEL_BINARY</c> overrides it (to test an installed binary).
/// </summary>
public static class ZtunnelBinary
{
    private static readonly Lazy<string> Located = new(Locate);

    public static string Path => Located.Value;

    /// <summary>True when <c>ZTUNNEL_BINARY</c> names the binary: what make test sets to the published daemon.</summary>
    public static bool IsOverridden => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable("ZTUNNEL_BINARY"));

    /// <summary>Runs the binary (not as a daemon: <c>ca init</c>, <c>version</c>) and returns stdout; throws on failure.</summary>
    public static Task<string> RunAsync(params string[] arguments) => ProcessRunner.CheckedAsync(Path, arguments);

    private static string Locate()
    {
        string? overridden = Environment.GetEnvironmentVariable("ZTUNNEL_BINARY");
        if (!string.IsNullOrEmpty(overridden))
        {
            return File.Exists(overridden)
                ? System.IO.Path.GetFullPath(overridden)
                : throw new FileNotFoundException($"ZTUNNEL_BINARY={overridden}: no such file");
        }
        string directory = typeof(ZtunnelBinary).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
            .First(a => a.Key == "ZtunnelOutputDirectory").Value!;
        string built = System.IO.Path.Combine(directory, "ztunnel");
        return File.Exists(built)
            ? built
            : throw new FileNotFoundException($"no ztunnel executable in the daemon's build output ({built}); build tests/Ztunnel.E2E (it references src/Ztunnel)");
    }
}
