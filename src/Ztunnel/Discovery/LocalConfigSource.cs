using Microsoft.Extensions.Logging;

namespace Ztunnel.Discovery;

/// <summary>
/// Fills the <see cref="StateStore"/> from the local configuration file and keeps it current: the
/// file's directory is watched (so atomic rename-replace by editors and kubectl's ConfigMap symlink
/// swap are seen, not only in-place writes), events are debounced, and the file is reloaded when its
/// content changed. A bad file is reported and the previous state kept.
/// </summary>
internal sealed class LocalConfigSource : IDisposable
{
    private readonly string _path;
    private readonly string _fullPath;
    private readonly StateStore _store;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly TimeSpan _debounce;
    private readonly Lock _reloadLock = new();
    private FileSystemWatcher? _watcher;
    private ITimer? _debounceTimer;
    private string? _lastText;
    private TaskCompletionSource<ConfigReloadResult> _nextReload = NewCompletion();
    private bool _disposed;

    /// <param name="debounce">Quiet time after the last file event before reloading (default 200 ms).</param>
    public LocalConfigSource(string path, StateStore store, ILogger<LocalConfigSource> logger, TimeProvider? time = null, TimeSpan? debounce = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _path = path;
        _fullPath = Path.GetFullPath(path);
        _store = store;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _debounce = debounce ?? TimeSpan.FromMilliseconds(200);
    }

    /// <summary>The configuration in effect (the last one that loaded without errors).</summary>
    public LocalConfig? Current { get; private set; }

    /// <summary>Raised after every reload attempt that saw new file content, good or bad.</summary>
    public event EventHandler<ConfigReloadResult>? Reloaded;

    /// <summary>
    /// Loads the file, publishes its state and starts watching. A bad file at startup throws
    /// <see cref="ConfigException"/> (there is no previous state to keep).
    /// </summary>
    public LocalConfig Start()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        string directory = Path.GetDirectoryName(_fullPath)!;
        // Watch before the first read so a change landing in between is not missed.
        _debounceTimer = _time.CreateTimer(_ => ReloadIfChanged(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _watcher = new FileSystemWatcher(directory)
        {
            IncludeSubdirectories = false,
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
        };
        _watcher.Changed += OnFileEvent;
        _watcher.Created += OnFileEvent;
        _watcher.Deleted += OnFileEvent;
        _watcher.Renamed += OnFileEvent;
        _watcher.Error += OnWatcherError;
        _watcher.EnableRaisingEvents = true;

        lock (_reloadLock)
        {
            string text = ReadText();
            var config = LocalConfigLoader.Parse(text, _path, directory);
            _lastText = text;
            Apply(config);
            return config;
        }
    }

    /// <summary>Completes with the result of the next reload that sees new content (for tests and the admin API).</summary>
    public Task<ConfigReloadResult> NextReloadAsync() => Volatile.Read(ref _nextReload).Task;

    /// <summary>Reloads now if the file content changed since the last attempt; null when unchanged.</summary>
    public ConfigReloadResult? ReloadIfChanged()
    {
        ConfigReloadResult result;
        lock (_reloadLock)
        {
            if (_disposed)
            {
                return null;
            }
            string text;
            try
            {
                text = ReadText();
            }
            catch (ConfigException e)
            {
                // Mid-save (deleted, not yet recreated): report; the next file event retries.
                result = new ConfigReloadResult(_path, null, e.Errors);
                _lastText = null;
                Report(result);
                return result;
            }
            if (text == _lastText)
            {
                return null;
            }
            _lastText = text;
            if (string.IsNullOrWhiteSpace(text))
            {
                // An in-place save truncates before it writes; an empty file on reload is a half-written one,
                // not a request to forget every workload. The write that follows brings a new event.
                result = new ConfigReloadResult(_path, null, [new ConfigDiagnostic(_path, 0, "", "the file is empty (still being written?)")]);
                Report(result);
                return result;
            }
            try
            {
                var config = LocalConfigLoader.Parse(text, _path, Path.GetDirectoryName(_fullPath));
                if (Current is { } previous && previous.Settings != config.Settings)
                {
                    LocalConfigLog.SettingsNeedRestart(_logger, _path);
                }
                Apply(config);
                result = new ConfigReloadResult(_path, config, []);
            }
            catch (ConfigException e)
            {
                result = new ConfigReloadResult(_path, null, e.Errors);
            }
            Report(result);
        }
        return result;
    }

    public void Dispose()
    {
        lock (_reloadLock)
        {
            _disposed = true;
        }
        _watcher?.Dispose();
        _debounceTimer?.Dispose();
    }

    private void Apply(LocalConfig config)
    {
        foreach (var warning in config.Warnings)
        {
            LocalConfigLog.Warning(_logger, warning);
        }
        Current = config;
        _store.Publish(config.State);
        LocalConfigLog.Loaded(_logger, _path, config.State.Workloads.Count, config.State.Services.Count);
    }

    private void Report(ConfigReloadResult result)
    {
        foreach (var error in result.Errors)
        {
            LocalConfigLog.ReloadError(_logger, error);
        }
        var completion = Interlocked.Exchange(ref _nextReload, NewCompletion());
        Reloaded?.Invoke(this, result);
        completion.TrySetResult(result);
    }

    private string ReadText()
    {
        try
        {
            return File.ReadAllText(_fullPath);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new ConfigException([new ConfigDiagnostic(_path, 0, "", $"cannot read the file: {e.Message}")]);
        }
    }

    // Any event in the directory may concern the file: a rename onto it, a symlink swap of `..data`
    // (Kubernetes ConfigMap volumes), an in-place write. The content comparison filters out the rest.
    private void OnFileEvent(object sender, FileSystemEventArgs e) => _debounceTimer?.Change(_debounce, Timeout.InfiniteTimeSpan);

    private void OnWatcherError(object sender, ErrorEventArgs e)
    {
        LocalConfigLog.WatcherError(_logger, Path.GetDirectoryName(_fullPath)!, e.GetException());
        _debounceTimer?.Change(_debounce, Timeout.InfiniteTimeSpan);
    }

    private static TaskCompletionSource<ConfigReloadResult> NewCompletion() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
