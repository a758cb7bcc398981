namespace Ztunnel.Tests.Discovery;

/// <summary>Locates files of the repository (examples/) and makes per-test temporary directories.</summary>
internal static class TestPaths
{
    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Ztunnel.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"no Ztunnel.sln above {AppContext.BaseDirectory}");
    }

    public static string ExampleConfig => Path.Combine(RepositoryRoot(), "examples", "ztunnel.yaml");
}

/// <summary>A temporary directory named after this helper ("config-"), removed on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "config-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
