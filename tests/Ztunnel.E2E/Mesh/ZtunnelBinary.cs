namespace Ztunnel.E2E.Mesh;

/// <summary>
/// The built <c>ztunnel</c> executable the tests run as real processes. The test project references the
/// daemon project, and the SDK copies an Exe reference's apphost (<c>ztunnel</c>, with its runtimeconfig
/// and deps files) next to the test assembly, so it is always the build of the same configuration as the
/// tests. <c>ZTUNNEL_BINARY</c> overrides it (to test an installed binary).
/// </summary>
public static class ZtunnelBinary
{
    private static readonly Lazy<string> Located = new(Locate);

    public static string Path => Located.Value;

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
        string nextToTests = System.IO.Path.Combine(AppContext.BaseDirectory, "ztunnel");
        return File.Exists(nextToTests)
            ? nextToTests
            : throw new FileNotFoundException($"no ztunnel executable next to the test assembly ({nextToTests}); build tests/Ztunnel.E2E (it references src/Ztunnel)");
    }
}
