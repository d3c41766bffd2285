using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using WarpDrive.Backends;
using WarpDrive.ControlPlane.Store;

namespace WarpDrive.ControlPlane.Crawling;

/// <summary>
/// Indexes every backend (path, size, ETag, last modified) on a fixed interval and on demand. One worker runs the
/// crawls one after another, so two crawls of one backend never interleave their crawl stamps; requests queue in
/// a channel. Listing is streamed and written in pages, so memory does not grow with the number of objects.
/// </summary>
public sealed class StorageCrawler : IAsyncDisposable
{
    private const int PageSize = 1000;

    private readonly IGovernanceStore _store;
    private readonly IReadOnlyDictionary<string, IBackend> _backends;
    private readonly TimeSpan _interval;
    private readonly ILogger _logger;
    private readonly Channel<(string RequestId, IReadOnlyList<IBackend> Backends)> _requests = Channel.CreateUnbounded<(string, IReadOnlyList<IBackend>)>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _worker;
    private readonly Task _timer;

    public StorageCrawler(IGovernanceStore store, IEnumerable<IBackend> backends, TimeSpan interval, ILogger<StorageCrawler> logger)
    {
        _store = store;
        _backends = backends.ToDictionary(b => b.Name, StringComparer.Ordinal);
        _interval = interval;
        _logger = logger;
        _worker = Task.Run(WorkAsync);
        _timer = Task.Run(TickAsync);
    }

    public bool Knows(string backend) => _backends.ContainsKey(backend);

    /// <summary>Queues a crawl of one backend (or all when null) and returns its id at once.</summary>
    public string Request(string? backend)
    {
        var targets = backend is null ? _backends.Values.ToList() : [_backends[backend]];
        var id = Guid.NewGuid().ToString("N");
        _requests.Writer.TryWrite((id, targets));
        return id;
    }

    private async Task TickAsync()
    {
        using var timer = new PeriodicTimer(_interval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
            {
                Request(null);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task WorkAsync()
    {
        try
        {
            await foreach (var (requestId, backends) in _requests.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
            {
                foreach (var backend in backends)
                {
                    await CrawlAsync(requestId, backend, _stop.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private async Task CrawlAsync(string requestId, IBackend backend, CancellationToken cancellationToken)
    {
        long crawlId = 0;
        try
        {
            crawlId = await _store.BeginCrawlAsync(requestId, backend.Name, cancellationToken).ConfigureAwait(false);
            var page = new List<(string, long, string, DateTimeOffset)>(PageSize);
            await foreach (var entry in backend.ListAsync("", recursive: true, cancellationToken).ConfigureAwait(false))
            {
                if (entry.IsDirectory)
                {
                    continue;
                }

                page.Add((entry.Path, entry.Size, entry.ETag, entry.LastModified));
                if (page.Count == PageSize)
                {
                    await _store.RecordCrawledAsync(backend.Name, crawlId, page, cancellationToken).ConfigureAwait(false);
                    page.Clear();
                }
            }

            await _store.RecordCrawledAsync(backend.Name, crawlId, page, cancellationToken).ConfigureAwait(false);
            var result = await _store.FinishCrawlAsync(backend.Name, crawlId, cancellationToken).ConfigureAwait(false);
            _logger.LogInformation("crawled backend {Backend}: {Objects} objects, {Bytes} bytes", backend.Name, result.Objects, result.Bytes);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            // A failed crawl marks nothing deleted: objects are only ever retired by a crawl that listed everything.
            _logger.LogWarning("crawl of backend {Backend} failed: {Error}", backend.Name, e.Message);
            if (crawlId != 0)
            {
                await _store.FailCrawlAsync(crawlId, e.GetType().Name, CancellationToken.None).ConfigureAwait(false);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _requests.Writer.TryComplete();
        await Task.WhenAll(_worker, _timer).ConfigureAwait(false);
        _stop.Dispose();
    }
}
