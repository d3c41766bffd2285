using Microsoft.Extensions.Logging;
using WarpDrive.Config;

namespace WarpDrive.Csi;

/// <summary>
/// Re-reads the node config when it changes and hands each valid new version to <c>apply</c>. Watches the
/// directory, not the file: a Kubernetes ConfigMap volume is updated by swapping a <c>..data</c> symlink, which
/// never writes the file itself. Events are debounced (one swap is several events), and a reload whose text is
/// unchanged is skipped. A bad config is logged and kept in <see cref="LastError"/>; the old one keeps serving.
/// </summary>
public sealed class ConfigWatcher : IDisposable
{
    private readonly string _path;
    private readonly TimeSpan _debounce;
    private readonly Func<NodeConfig, Task> _apply;
    private readonly ILogger _logger;
    private readonly FileSystemWatcher _watcher;
    private readonly SemaphoreSlim _reloading = new(1, 1);
    private readonly CancellationTokenSource _stopping = new();
    private string _lastText;
    private CancellationTokenSource? _pending;

    public ConfigWatcher(string path, TimeSpan debounce, Func<NodeConfig, Task> apply, ILogger logger)
    {
        _path = Path.GetFullPath(path);
        _debounce = debounce;
        _apply = apply;
        _logger = logger;
        _lastText = ReadOrEmpty();
        _watcher = new FileSystemWatcher(Path.GetDirectoryName(_path)!)
        {
            NotifyFilter = NotifyFilters.FileName | NotifyFilters.DirectoryName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            IncludeSubdirectories = false,
        };
        _watcher.Changed += OnEvent;
        _watcher.Created += OnEvent;
        _watcher.Deleted += OnEvent;
        _watcher.Renamed += OnEvent;
        _watcher.EnableRaisingEvents = true;
    }

    /// <summary>Why the newest config on disk was refused; null after a successful reload.</summary>
    public string? LastError { get; private set; }

    /// <summary>Successful reloads so far.</summary>
    public int Reloads { get; private set; }

    /// <summary>Raised after each reload attempt (success or refusal); for tests and events.</summary>
    public event Action? Reloaded;

    public void Dispose()
    {
        _stopping.Cancel();
        _watcher.Dispose();
        _stopping.Dispose();
    }

    /// <summary>Re-reads now (also what each debounced file event ends in).</summary>
    public async Task ReloadAsync()
    {
        await _reloading.WaitAsync().ConfigureAwait(false);
        try
        {
            var text = ReadOrEmpty();
            if (text == _lastText)
            {
                return;
            }

            NodeConfig config;
            try
            {
                config = ConfigLoader.LoadFile(_path);
            }
            catch (ConfigException e)
            {
                LastError = $"config reload refused, still serving the previous config: {e.Message}";
                _logger.LogError("{Error}", LastError);
                return;
            }

            _lastText = text;
            await _apply(config).ConfigureAwait(false);
            LastError = null;
            Reloads++;
            _logger.LogInformation("config reloaded from {Path}: {Count} data source(s): {Sources}", _path, config.Backends.Count,
                string.Join(", ", config.Backends.Select(b => b.Name)));
        }
        finally
        {
            _reloading.Release();
            Reloaded?.Invoke();
        }
    }

    private void OnEvent(object sender, FileSystemEventArgs e)
    {
        var next = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token);
        Interlocked.Exchange(ref _pending, next)?.Cancel();
        _ = DebouncedAsync(next.Token);
    }

    private async Task DebouncedAsync(CancellationToken token)
    {
        try
        {
            await Task.Delay(_debounce, token).ConfigureAwait(false);
            await ReloadAsync().ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // superseded by a later event, or stopping
        }
        catch (Exception e) when (e is IOException or InvalidOperationException)
        {
            _logger.LogError("config reload failed: {Error}", e.Message);
        }
    }

    private string ReadOrEmpty()
    {
        try
        {
            return File.ReadAllText(_path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return "";
        }
    }
}
