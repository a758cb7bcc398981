using Microsoft.Extensions.Logging;

namespace Ztunnel.Discovery;

/// <summary>
/// Fills the <see cref="StateStore"/> from the local configuration file and keeps it current: the
/// file's directory and those of its <c>policyPaths</c> are watched (so atomic rename-replace by
/// editors and kubectl's ConfigMap symlink swap are seen, not only in-place writes), events are
/// debounced, and everything is reloaded when the content of the file or of a policy file changed.
/// A bad file is reported and the previous state kept.
/// </summary>
internal sealed partial class LocalConfigSource : IDisposable
{
    private readonly string _path;
    private readonly string _fullPath;
    private readonly string _directory;
    private readonly StateStore _store;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly TimeSpan _debounce;
    // Serializes loads; guards _lastFingerprint, _policyPaths, _watchers, Current.
    private readonly Lock _reloadLock = new();
    private readonly Dictionary<string, FileSystemWatcher> _watchers = new(StringComparer.Ordinal);
    private List<string> _policyPaths = [];
    private ITimer? _debounceTimer;
    private string? _lastFingerprint;
    private TaskCompletionSource<ConfigReloadResult> _nextReload = NewCompletion();
    private bool _disposed;

    /// <param name="debounce">Quiet time after the last file event before reloading (default 200 ms).</param>
    public LocalConfigSource(string path, StateStore store, ILogger<LocalConfigSource> logger, TimeProvider? time = null, TimeSpan? debounce = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        _path = path;
        _fullPath = Path.GetFullPath(path);
        _directory = Path.GetDirectoryName(_fullPath)!;
        _store = store;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _debounce = debounce ?? TimeSpan.FromMilliseconds(200);
    }

    /// <summary>The configuration in effect (the last one that loaded without errors).</summary>
    public LocalConfig? Current { get; private set; }

    /// <summary>Raised after every reload attempt that saw new content, good or bad.</summary>
    public event EventHandler<ConfigReloadResult>? Reloaded;

    /// <summary>
    /// Loads the file, publishes its state and starts watching. A bad file at startup throws
    /// <see cref="ConfigException"/> (there is no previous state to keep).
    /// </summary>
    public LocalConfig Start()
    {
        lock (_reloadLock)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            _debounceTimer = _time.CreateTimer(_ => ReloadIfChanged(), null, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            // Watch before the first read so a change landing in between is not missed.
            WatchDirectories();
            string text = ReadText();
            var seen = new List<string>();
            var config = LocalConfigLoader.Parse(text, _path, _directory, seen);
            _policyPaths = seen;
            WatchDirectories();
            _lastFingerprint = Fingerprint(text);
            Apply(config);
            return config;
        }
    }

    /// <summary>Completes with the result of the next reload that sees new content (for tests and the admin API).</summary>
    public Task<ConfigReloadResult> NextReloadAsync() => Volatile.Read(ref _nextReload).Task;

    /// <summary>Reloads now if the file or a policy file changed since the last attempt; null when nothing changed.</summary>
    public ConfigReloadResult? ReloadIfChanged()
    {
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
                _lastFingerprint = null;
                return Report(new ConfigReloadResult(_path, null, e.Errors));
            }
            string fingerprint = Fingerprint(text);
            if (fingerprint == _lastFingerprint)
            {
                return null;
            }
            _lastFingerprint = fingerprint;
            if (string.IsNullOrWhiteSpace(text))
            {
                // An in-place save truncates before it writes; an empty file on reload is a half-written one,
                // not a request to forget every workload. The write that follows brings a new event.
                return Report(new ConfigReloadResult(_path, null, [new ConfigDiagnostic(_path, 0, "", "the file is empty (still being written?)")]));
            }

            var seen = new List<string>();
            ConfigReloadResult result;
            try
            {
                var config = LocalConfigLoader.Parse(text, _path, _directory, seen);
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
            // A file that failed before reaching policyPaths keeps the old ones watched. When the paths are
            // the same, the fingerprint taken before parsing stands, so a policy edit racing with this load
            // still differs from it and triggers another reload.
            if ((seen.Count > 0 || result.Succeeded) && !seen.SequenceEqual(_policyPaths, StringComparer.Ordinal))
            {
                _policyPaths = seen;
                _lastFingerprint = Fingerprint(text);
                WatchDirectories();
            }
            return Report(result);
        }
    }

    public void Dispose()
    {
        lock (_reloadLock)
        {
            _disposed = true;
            foreach (var watcher in _watchers.Values)
            {
                watcher.Dispose();
            }
            _watchers.Clear();
            _debounceTimer?.Dispose();
        }
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

    private ConfigReloadResult Report(ConfigReloadResult result)
    {
        foreach (var error in result.Errors)
        {
            LocalConfigLog.ReloadError(_logger, error);
        }
        var completion = Interlocked.Exchange(ref _nextReload, NewCompletion());
        Reloaded?.Invoke(this, result);
        completion.TrySetResult(result);
        return result;
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

    private static TaskCompletionSource<ConfigReloadResult> NewCompletion() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
