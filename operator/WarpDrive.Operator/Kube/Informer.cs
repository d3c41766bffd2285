using System.Collections.Concurrent;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Microsoft.Extensions.Logging;

namespace WarpDrive.Operator.Kube;

/// <summary>List and watch of one resource type: what an <see cref="Informer{T}"/> needs from the API server.</summary>
public interface IListWatch<T>
    where T : IKubernetesObject<V1ObjectMeta>
{
    Task<(IList<T> Items, string ResourceVersion)> ListAsync(CancellationToken cancellationToken);

    /// <summary>Watch from <paramref name="resourceVersion"/>; a Status event (e.g. 410 Gone) goes to <paramref name="onError"/>.</summary>
    IAsyncEnumerable<(WatchEventType Type, T Object)> WatchAsync(string resourceVersion, Action<Exception> onError, CancellationToken cancellationToken);
}

/// <summary>
/// A watch cache of one resource type: list, then watch from the list's resourceVersion; a watch that ends is
/// resumed from the last seen resourceVersion (bookmarks keep it fresh); 410 Gone (the version is too old) means
/// events were lost, so it lists again and reports every object that changed or vanished; any other error waits
/// with capped exponential backoff plus jitter. Every change calls <see cref="Changed"/> with the object (the old one
/// on deletion).
/// <para>
/// Threading: one loop task writes the cache; readers read a <see cref="ConcurrentDictionary{TKey,TValue}"/>
/// snapshot-free, which is enough because each entry is replaced whole and never mutated.
/// </para>
/// </summary>
public sealed class Informer<T>(string name, IListWatch<T> source, ILogger logger)
    where T : class, IKubernetesObject<V1ObjectMeta>
{
    private readonly ConcurrentDictionary<string, T> items = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource synced = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public event Action<T>? Changed;

    public TimeSpan MinBackoff { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Completes after the first successful list.</summary>
    public Task Synced => synced.Task;

    /// <summary>How many times the informer listed (1 + re-lists after 410 Gone or errors).</summary>
    public int Lists { get; private set; }

    public T? Get(string? ns, string name) => items.GetValueOrDefault(CacheKeys.Of(ns, name));

    public IReadOnlyList<T> List() => items.Values.ToList();

    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var failures = 0;
        string? resourceVersion = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                resourceVersion ??= await ListAsync(cancellationToken).ConfigureAwait(false);
                var gone = false;
                await foreach (var (type, item) in source.WatchAsync(resourceVersion, error =>
                {
                    if (CacheKeys.IsGone(error))
                    {
                        gone = true;
                    }
                    else
                    {
                        logger.LogWarning("{Informer}: watch error: {Error}", name, error.Message);
                    }
                }, cancellationToken).ConfigureAwait(false))
                {
                    resourceVersion = item.Metadata.ResourceVersion ?? resourceVersion;
                    Apply(type, item);
                    failures = 0;
                }

                if (gone)
                {
                    logger.LogInformation("{Informer}: resourceVersion {Version} expired (410 Gone), listing again", name, resourceVersion);
                    resourceVersion = null;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error)
            {
                if (CacheKeys.IsGone(error))
                {
                    resourceVersion = null;
                    continue;
                }

                failures++;
                var delay = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, MinBackoff.Ticks << Math.Min(failures - 1, 20)));
                logger.LogWarning("{Informer}: {Error}; retrying in about {Delay}", name, error.Message, delay);
                await Controller.Jitter.DelayAsync(delay, cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }
        }
    }

    private async Task<string> ListAsync(CancellationToken cancellationToken)
    {
        var (list, version) = await source.ListAsync(cancellationToken).ConfigureAwait(false);
        Lists++;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var item in list)
        {
            var key = CacheKeys.Of(item.Metadata);
            seen.Add(key);
            if (!items.TryGetValue(key, out var old) || old.Metadata.ResourceVersion != item.Metadata.ResourceVersion)
            {
                items[key] = item;
                Changed?.Invoke(item);
            }
        }

        // Deletions missed while not watching.
        foreach (var (key, old) in items)
        {
            if (!seen.Contains(key) && items.TryRemove(key, out _))
            {
                Changed?.Invoke(old);
            }
        }

        synced.TrySetResult();
        return version;
    }

    private void Apply(WatchEventType type, T item)
    {
        switch (type)
        {
            case WatchEventType.Added:
            case WatchEventType.Modified:
                items[CacheKeys.Of(item.Metadata)] = item;
                Changed?.Invoke(item);
                break;
            case WatchEventType.Deleted:
                items.TryRemove(CacheKeys.Of(item.Metadata), out _);
                Changed?.Invoke(item);
                break;
            default:
                break; // Bookmark: only the resourceVersion, taken above.
        }
    }
}

/// <summary>Cache keys (<c>namespace/name</c>, or <c>name</c> for cluster-scoped objects) and error classification.</summary>
public static class CacheKeys
{
    public static string Of(V1ObjectMeta metadata) => Of(metadata.NamespaceProperty, metadata.Name);

    public static string Of(string? ns, string name) => string.IsNullOrEmpty(ns) ? name : $"{ns}/{name}";

    /// <summary>410 Gone: the resourceVersion is older than the server keeps; only a new list can catch up.</summary>
    public static bool IsGone(Exception error) => error switch
    {
        KubernetesException { Status.Code: (int)HttpStatusCode.Gone } => true,
        HttpOperationException { Response.StatusCode: HttpStatusCode.Gone } => true,
        _ => false,
    };
}
