using System.Text;

namespace Ztunnel.Discovery;

internal sealed partial class LocalConfigSource
{
    /// <summary>Watches the config file's directory and every policy path's directory; drops watchers no longer needed.</summary>
    private void WatchDirectories()
    {
        var wanted = new HashSet<string>(StringComparer.Ordinal) { _directory };
        foreach (string p in _policyPaths)
        {
            wanted.Add(Directory.Exists(p) ? p : Path.GetDirectoryName(p)!);
        }
        foreach (string dir in _watchers.Keys.ToArray())
        {
            if (!wanted.Contains(dir))
            {
                _watchers[dir].Dispose();
                _watchers.Remove(dir);
            }
        }
        foreach (string dir in wanted)
        {
            if (_watchers.ContainsKey(dir) || !Directory.Exists(dir))
            {
                continue;
            }
            var watcher = new FileSystemWatcher(dir)
            {
                IncludeSubdirectories = false,
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            watcher.Changed += OnFileEvent;
            watcher.Created += OnFileEvent;
            watcher.Deleted += OnFileEvent;
            watcher.Renamed += OnFileEvent;
            watcher.Error += OnWatcherError;
            try
            {
                watcher.EnableRaisingEvents = true;
            }
            catch (IOException e)
            {
                // e.g. the inotify instance limit: the daemon still runs on the state it loaded.
                LocalConfigLog.CannotWatch(_logger, dir, e);
                watcher.Dispose();
                continue;
            }
            _watchers.Add(dir, watcher);
        }
    }

    /// <summary>
    /// The config text plus the content of every policy file it uses: a reload happens only when this
    /// changes, which filters out events for unrelated files in the watched directories.
    /// </summary>
    private string Fingerprint(string configText)
    {
        var sb = new StringBuilder(configText);
        foreach (string p in _policyPaths)
        {
            if (Directory.Exists(p))
            {
                var files = Directory.GetFiles(p, "*.yaml").Concat(Directory.GetFiles(p, "*.yml")).Order(StringComparer.Ordinal);
                foreach (string f in files)
                {
                    AppendFile(sb, f);
                }
            }
            else
            {
                AppendFile(sb, p);
            }
        }
        return sb.ToString();
    }

    private static void AppendFile(StringBuilder sb, string file)
    {
        sb.Append('\0').Append(file).Append('\0');
        try
        {
            sb.Append(File.ReadAllText(file));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            sb.Append("unreadable: ").Append(e.Message);
        }
    }

    // Any event in a watched directory may concern us: a rename onto the file, a symlink swap of `..data`
    // (Kubernetes ConfigMap volumes), an in-place write. The fingerprint comparison filters out the rest.
    private void OnFileEvent(object sender, FileSystemEventArgs e) => _debounceTimer?.Change(_debounce, Timeout.InfiniteTimeSpan);

    private void OnWatcherError(object sender, ErrorEventArgs e)
    {
        LocalConfigLog.WatcherError(_logger, ((FileSystemWatcher)sender).Path, e.GetException());
        _debounceTimer?.Change(_debounce, Timeout.InfiniteTimeSpan);
    }
}
