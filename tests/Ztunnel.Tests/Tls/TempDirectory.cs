namespace Ztunnel.Tests.Tls;

/// <summary>A private temp directory (prefixed with the helper name "tls-") removed on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
    {
        Path = Directory.CreateTempSubdirectory("tls-").FullName;
    }

    public string Path { get; }

    public string Write(string name, string contents)
    {
        string path = System.IO.Path.Combine(Path, name);
        File.WriteAllText(path, contents);
        return path;
    }

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
