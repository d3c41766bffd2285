using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NUnit.Framework;
using WarpDrive.Node.Kubernetes;

namespace WarpDrive.Csi.Tests.Kubernetes;

/// <summary>One server-side apply of a warm job's status, as the double received it.</summary>
internal sealed record RecordedApply(string Namespace, string Name, string FieldManager, bool Force, string ContentType, JsonObject Body)
{
    /// <summary>The entries the body applies (an agent must send only its own).</summary>
    public IReadOnlyList<WarmNodeEntry> Entries =>
        Body["status"]?["nodes"]?.AsArray().Select(n => n.Deserialize<WarmNodeEntry>()!).ToList() ?? [];
}

/// <summary>
/// Test double of the Kubernetes API server, because no Kubernetes API server can run on this machine (no container
/// engine, and Debian ships no kube-apiserver). A real HTTP server on 127.0.0.1 (Kestrel) serving exactly what the
/// node agent's warm-job runner calls, in the API server's wire format: GET one Node; LIST WarpCacheWarms in all
/// namespaces; WATCH them (newline-delimited events from the requested resourceVersion on, ADDED/DELETED pushed by
/// the test, MODIFIED after each status apply, as the server does); PATCH <c>.../status</c> recording each apply
/// body with its field manager, and merging the entries into <c>status.nodes</c> by key <c>node</c> like
/// server-side apply does for a list-map. Applies can be held (answered only when released) to catch a run midway.
/// ServiceAccounts: GET one (pod identities read their annotations). ConfigMaps, as the node agent may use them (get and watch, no list): GET one; WATCH one with
/// <c>fieldSelector=metadata.name=...</c> from a resourceVersion (a watch without that selector, or a plain list, is
/// answered 403 like RBAC does for the agent), with ADDED/MODIFIED/DELETED pushed by the test; a watch without a
/// resourceVersion starts at the newest one with a synthetic ADDED of the object as it is. All kinds share one
/// resourceVersion sequence, as they do in etcd. WarpDataSources, as the agent's reachability reporter uses them
/// (status apply only): PATCH <c>.../warpdatasources/{name}/status</c> recorded like warm applies, 404 for a source the
/// test did not create, and merged like server-side apply merges a list-map with one owner per entry: the field
/// manager's previous entries are replaced by the ones its body holds (none: given up).
/// </summary>
internal sealed class KubernetesApiTestDouble : IAsyncDisposable
{
    private const string Prefix = "/apis/warpdrive.io/v1alpha1";
    private readonly WebApplication _app;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<string, JsonObject> _warms = new(StringComparer.Ordinal);
    private const string WarmStream = "warpcachewarms";
    private readonly Dictionary<string, JsonObject> _configMaps = new(StringComparer.Ordinal);
    private readonly List<(long Version, string Stream, string Line)> _events = [];
    private readonly List<(string Stream, Channel<string> Events, HttpContext Context)> _watchers = [];
    private readonly List<RecordedApply> _applies = [];
    private readonly List<RecordedApply> _sourceApplies = [];
    private readonly Dictionary<string, List<(string Manager, JsonNode Entry)>> _sources = new(StringComparer.Ordinal);
    private readonly string _nodeName;
    private readonly Dictionary<string, string> _nodeLabels;
    private TaskCompletionSource? _hold;
    private long _version = 100;
    private long _expiredUpTo;
    private int _failLists;
    private int _lists;
    private int _configMapGets;
    private int _serviceAccountGets;
    private readonly Dictionary<string, JsonObject> _serviceAccounts = new(StringComparer.Ordinal);
    private int _configMapWatches;

    private KubernetesApiTestDouble(WebApplication app, string nodeName, Dictionary<string, string> nodeLabels)
    {
        _app = app;
        _nodeName = nodeName;
        _nodeLabels = nodeLabels;
    }

    public Uri Url { get; private set; } = null!;

    public static async Task<KubernetesApiTestDouble> StartAsync(string nodeName, Dictionary<string, string> nodeLabels)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var server = new KubernetesApiTestDouble(app, nodeName, nodeLabels);
        app.MapGet("/api/v1/nodes/{name}", server.GetNode);
        app.MapGet(Prefix + "/warpcachewarms", server.ListOrWatchAsync);
        app.MapMethods(Prefix + "/namespaces/{ns}/warpcachewarms/{name}/status", ["PATCH"], server.ApplyStatusAsync);
        app.MapMethods(Prefix + "/namespaces/{ns}/warpdatasources/{name}/status", ["PATCH"], server.ApplySourceStatusAsync);
        app.MapGet("/api/v1/namespaces/{ns}/configmaps/{name}", server.GetConfigMap);
        app.MapGet("/api/v1/namespaces/{ns}/configmaps", server.WatchConfigMapAsync);
        app.MapGet("/api/v1/namespaces/{ns}/serviceaccounts/{name}", server.GetServiceAccount);
        await app.StartAsync();
        server.Url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return server;
    }

    public IReadOnlyList<RecordedApply> Applies
    {
        get
        {
            lock (_gate)
            {
                return [.. _applies];
            }
        }
    }

    /// <summary>Status applies to WarpDataSources received so far (404s included).</summary>
    public IReadOnlyList<RecordedApply> SourceApplies
    {
        get
        {
            lock (_gate)
            {
                return [.. _sourceApplies];
            }
        }
    }

    /// <summary>Creates a WarpDataSource (status applies to any other answer 404).</summary>
    public void PutSource(string ns, string name)
    {
        lock (_gate)
        {
            _sources.TryAdd($"{ns}/{name}", []);
        }
    }

    /// <summary>The source's <c>status.nodes</c> as the merged applies left it.</summary>
    public IReadOnlyList<SourceNodeEntry> SourceEntries(string ns, string name)
    {
        lock (_gate)
        {
            return _sources.TryGetValue($"{ns}/{name}", out var entries) ? [.. entries.Select(e => e.Entry.Deserialize<SourceNodeEntry>()!)] : [];
        }
    }

    /// <summary>LIST calls answered so far (failed ones included).</summary>
    public int Lists => Volatile.Read(ref _lists);

    /// <summary>ConfigMap GETs answered so far (404s included).</summary>
    public int ConfigMapGets => Volatile.Read(ref _configMapGets);

    /// <summary>GETs of ServiceAccounts (the only verb the agent has on them).</summary>
    public int ServiceAccountGets => Volatile.Read(ref _serviceAccountGets);

    public void PutServiceAccount(string ns, string name, Dictionary<string, string> annotations)
    {
        lock (_gate)
        {
            _serviceAccounts[$"{ns}/{name}"] = new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "ServiceAccount",
                ["metadata"] = new JsonObject
                {
                    ["name"] = name,
                    ["namespace"] = ns,
                    ["resourceVersion"] = (++_version).ToString(CultureInfo.InvariantCulture),
                    ["annotations"] = new JsonObject(annotations.Select(a => KeyValuePair.Create(a.Key, (JsonNode?)JsonValue.Create(a.Value)))),
                },
            };
        }
    }

    /// <summary>ConfigMap watches opened so far.</summary>
    public int ConfigMapWatches => Volatile.Read(ref _configMapWatches);

    /// <summary>Open watches of every kind.</summary>
    public int OpenWatches
    {
        get
        {
            lock (_gate)
            {
                return _watchers.Count;
            }
        }
    }

    /// <summary>The next <paramref name="count"/> LIST calls answer 500.</summary>
    public void FailNextLists(int count) => Volatile.Write(ref _failLists, count);

    /// <summary>Cuts every open watch connection, as a dropped network does.</summary>
    public void DropWatches()
    {
        lock (_gate)
        {
            foreach (var (_, _, context) in _watchers)
            {
                context.Abort();
            }
        }
    }

    /// <summary>
    /// Every version but the newest becomes too old to watch from (etcd compacted them), and open watches end normally
    /// (their server timeout): a client resuming from its last version gets an ERROR event with 410 Gone.
    /// </summary>
    public void ExpireVersionsAndEndWatches()
    {
        lock (_gate)
        {
            _version++; // a change the client never saw (another resource): its last version is now behind
            _expiredUpTo = _version - 1;
            foreach (var (_, events, _) in _watchers)
            {
                events.Writer.TryComplete();
            }
        }
    }

    /// <summary>Creates (ADDED) or replaces (MODIFIED, even when the data is the same, as any update is) a ConfigMap.</summary>
    public void PutConfigMap(string ns, string name, Dictionary<string, string> data)
    {
        lock (_gate)
        {
            var exists = _configMaps.ContainsKey($"{ns}/{name}");
            var configMap = new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "ConfigMap",
                ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
                ["data"] = JsonSerializer.SerializeToNode(data),
            };
            _configMaps[$"{ns}/{name}"] = configMap;
            PublishLocked(ConfigMapStream(ns, name), exists ? "MODIFIED" : "ADDED", configMap);
        }
    }

    public void DeleteConfigMap(string ns, string name)
    {
        lock (_gate)
        {
            if (_configMaps.Remove($"{ns}/{name}", out var configMap))
            {
                PublishLocked(ConfigMapStream(ns, name), "DELETED", configMap);
            }
        }
    }

    public IReadOnlyList<RecordedApply> AppliesTo(string ns, string name) => Applies.Where(a => a.Namespace == ns && a.Name == name).ToList();

    /// <summary>Creates a job (ADDED) with a fresh uid; returns the uid.</summary>
    /// <param name="entries">status.nodes as agents left it (e.g. before this agent restarted).</param>
    public string Add(string ns, string name, string source, string[] paths, Dictionary<string, string>? nodeSelector = null, string? maxSize = null, int? workers = null,
        WarmNodeEntry[]? entries = null, string? team = null)
    {
        var spec = new JsonObject { ["source"] = source, ["paths"] = new JsonArray(paths.Select(p => (JsonNode)p).ToArray()) };
        if (team is not null)
        {
            spec["team"] = team;
        }

        if (nodeSelector is not null)
        {
            spec["nodeSelector"] = JsonSerializer.SerializeToNode(nodeSelector);
        }

        if (maxSize is not null)
        {
            spec["maxSize"] = maxSize;
        }

        if (workers is not null)
        {
            spec["workers"] = workers;
        }

        var uid = Guid.NewGuid().ToString();
        var warm = new JsonObject
        {
            ["apiVersion"] = "warpdrive.io/v1alpha1",
            ["kind"] = "WarpCacheWarm",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["uid"] = uid, ["generation"] = 1 },
            ["spec"] = spec,
        };
        if (entries is not null)
        {
            warm["status"] = new JsonObject { ["nodes"] = JsonSerializer.SerializeToNode(entries) };
        }

        lock (_gate)
        {
            _warms[$"{ns}/{name}"] = warm;
            PublishLocked(WarmStream, "ADDED", warm);
        }

        return uid;
    }

    public void Delete(string ns, string name)
    {
        lock (_gate)
        {
            if (_warms.Remove($"{ns}/{name}", out var warm))
            {
                PublishLocked(WarmStream, "DELETED", warm);
            }
        }
    }

    /// <summary>From now on, applies are recorded on arrival but answered only after <see cref="ReleaseApplies"/>.</summary>
    public void HoldApplies()
    {
        lock (_gate)
        {
            _hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public void ReleaseApplies()
    {
        lock (_gate)
        {
            _hold?.TrySetResult();
            _hold = null;
        }
    }

    /// <summary>Waits (bounded) until the job's entry for <paramref name="node"/> is Succeeded or Failed, and returns it.</summary>
    public async Task<WarmNodeEntry> FinalEntryAsync(string ns, string name, string node)
    {
        for (var i = 0; i < 600; i++)
        {
            if (AppliesTo(ns, name).SelectMany(a => a.Entries).LastOrDefault(e => e.Node == node && WarmNodePhases.IsFinished(e.Phase)) is { } entry)
            {
                return entry;
            }

            await Task.Delay(50);
        }

        throw new AssertionException($"{ns}/{name} never finished on {node}; applies: " +
            string.Join("; ", AppliesTo(ns, name).Select(a => a.Body.ToJsonString())));
    }

    /// <summary>Waits (bounded) until <paramref name="done"/> holds for the recorded applies.</summary>
    public async Task WaitForAsync(Func<IReadOnlyList<RecordedApply>, bool> done)
    {
        for (var i = 0; i < 600 && !done(Applies); i++)
        {
            await Task.Delay(50);
        }

        Assert.That(done(Applies), Is.True, "applies: " + string.Join("; ", Applies.Select(a => a.Body.ToJsonString())));
    }

    public async ValueTask DisposeAsync()
    {
        ReleaseApplies();
        await _stopping.CancelAsync();
        await _app.StopAsync();
        await _app.DisposeAsync();
        _stopping.Dispose();
    }

    private IResult GetNode(string name) =>
        name != _nodeName
            ? Results.Json(Status(404, "NotFound", $"nodes \"{name}\" not found"), statusCode: 404)
            : Results.Json(new JsonObject
            {
                ["apiVersion"] = "v1",
                ["kind"] = "Node",
                ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = JsonSerializer.SerializeToNode(_nodeLabels) },
            });

    private async Task ListOrWatchAsync(HttpContext context)
    {
        if (context.Request.Query["watch"] != "true")
        {
            Interlocked.Increment(ref _lists);
            if (Interlocked.Decrement(ref _failLists) >= 0)
            {
                context.Response.StatusCode = 500;
                await context.Response.WriteAsJsonAsync(Status(500, "InternalError", "etcdserver: request timed out"));
                return;
            }

            JsonObject list;
            lock (_gate)
            {
                list = new JsonObject
                {
                    ["apiVersion"] = "warpdrive.io/v1alpha1",
                    ["kind"] = "WarpCacheWarmList",
                    ["metadata"] = new JsonObject { ["resourceVersion"] = _version.ToString(CultureInfo.InvariantCulture) },
                    ["items"] = new JsonArray(_warms.Values.Select(w => w.DeepClone()).ToArray()),
                };
            }

            await context.Response.WriteAsJsonAsync(list);
            return;
        }

        await StreamAsync(context, WarmStream);
    }

    private IResult GetServiceAccount(string ns, string name)
    {
        Interlocked.Increment(ref _serviceAccountGets);
        lock (_gate)
        {
            return _serviceAccounts.TryGetValue($"{ns}/{name}", out var account)
                ? Results.Json(account.DeepClone())
                : Results.Json(Status(404, "NotFound", $"serviceaccounts \"{name}\" not found"), statusCode: 404);
        }
    }

    private IResult GetConfigMap(string ns, string name)
    {
        Interlocked.Increment(ref _configMapGets);
        lock (_gate)
        {
            return _configMaps.TryGetValue($"{ns}/{name}", out var configMap)
                ? Results.Json(configMap.DeepClone())
                : Results.Json(Status(404, "NotFound", $"configmaps \"{name}\" not found"), statusCode: 404);
        }
    }

    private async Task WatchConfigMapAsync(HttpContext context, string ns)
    {
        const string ByName = "metadata.name=";
        var selector = context.Request.Query["fieldSelector"].ToString();
        if (context.Request.Query["watch"] != "true" || !selector.StartsWith(ByName, StringComparison.Ordinal))
        {
            context.Response.StatusCode = 403;
            await context.Response.WriteAsJsonAsync(Status(403, "Forbidden", "configmaps is forbidden: the node agent may get and watch one ConfigMap, not list them"));
            return;
        }

        Interlocked.Increment(ref _configMapWatches);
        var name = selector[ByName.Length..];
        await StreamAsync(context, ConfigMapStream(ns, name), () => _configMaps.GetValueOrDefault($"{ns}/{name}"));
    }

    /// <summary>
    /// Answers a watch: the stream's events after the requested resourceVersion, then new ones as they happen. Without
    /// a resourceVersion (only where <paramref name="current"/> is given): ADDED of the current object, then new ones.
    /// </summary>
    private async Task StreamAsync(HttpContext context, string stream, Func<JsonObject?>? current = null)
    {
        var requested = context.Request.Query["resourceVersion"].ToString();
        var events = Channel.CreateUnbounded<string>();
        lock (_gate)
        {
            var from = requested.Length == 0 && current is not null ? _version : long.Parse(requested, CultureInfo.InvariantCulture);
            if (requested.Length == 0 && current?.Invoke() is { } now)
            {
                events.Writer.TryWrite(new JsonObject { ["type"] = "ADDED", ["object"] = now.DeepClone() }.ToJsonString());
            }
            else if (from <= _expiredUpTo)
            {
                events.Writer.TryWrite(new JsonObject { ["type"] = "ERROR", ["object"] = Status(410, "Expired", $"too old resource version: {from}") }.ToJsonString());
                events.Writer.TryComplete();
            }

            // Whatever happened since the version the client listed at, then everything new: no event is lost.
            foreach (var (version, _, line) in _events.Where(e => e.Version > from && e.Stream == stream))
            {
                events.Writer.TryWrite(line);
            }

            _watchers.Add((stream, events, context));
        }

        try
        {
            using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
            context.Response.ContentType = "application/json";
            await context.Response.StartAsync(ending.Token);
            await foreach (var line in events.Reader.ReadAllAsync(ending.Token))
            {
                await context.Response.WriteAsync(line + "\n", ending.Token);
                await context.Response.Body.FlushAsync(ending.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            lock (_gate)
            {
                _watchers.Remove((stream, events, context));
            }
        }
    }

    private async Task<IResult> ApplyStatusAsync(HttpContext context, string ns, string name)
    {
        var body = (JsonObject)(await JsonNode.ParseAsync(context.Request.Body))!;
        var query = context.Request.Query;
        Task hold;
        lock (_gate)
        {
            _applies.Add(new RecordedApply(ns, name, query["fieldManager"].ToString(), query["force"] == "true", context.Request.ContentType ?? "", body));
            hold = _hold?.Task ?? Task.CompletedTask;
        }

        await hold.WaitAsync(context.RequestAborted);
        lock (_gate)
        {
            if (!_warms.TryGetValue($"{ns}/{name}", out var warm))
            {
                return Results.Json(Status(404, "NotFound", $"warpcachewarms.warpdrive.io \"{name}\" not found"), statusCode: 404);
            }

            if (body["metadata"]?["uid"]?.GetValue<string>() is { } uid && uid != warm["metadata"]!["uid"]!.GetValue<string>())
            {
                return Results.Json(Status(409, "Conflict", "Precondition failed: UID in precondition does not match"), statusCode: 409);
            }

            var status = warm["status"] as JsonObject ?? new JsonObject();
            var nodes = status["nodes"] as JsonArray ?? [];
            foreach (var entry in body["status"]?["nodes"]?.AsArray() ?? [])
            {
                var node = entry!["node"]!.GetValue<string>();
                var existing = nodes.FirstOrDefault(n => n!["node"]!.GetValue<string>() == node);
                if (existing is not null)
                {
                    nodes.Remove(existing);
                }

                nodes.Add(entry.DeepClone());
            }

            status["nodes"] = nodes;
            warm["status"] = status;
            PublishLocked(WarmStream, "MODIFIED", warm);
            return Results.Json(warm.DeepClone());
        }
    }

    private async Task<IResult> ApplySourceStatusAsync(HttpContext context, string ns, string name)
    {
        var body = (JsonObject)(await JsonNode.ParseAsync(context.Request.Body))!;
        var query = context.Request.Query;
        var manager = query["fieldManager"].ToString();
        lock (_gate)
        {
            _sourceApplies.Add(new RecordedApply(ns, name, manager, query["force"] == "true", context.Request.ContentType ?? "", body));
            if (!_sources.TryGetValue($"{ns}/{name}", out var entries))
            {
                return Results.Json(Status(404, "NotFound", $"warpdatasources.warpdrive.io \"{name}\" not found"), statusCode: 404);
            }

            entries.RemoveAll(e => e.Manager == manager);
            foreach (var entry in body["status"]?["nodes"]?.AsArray() ?? [])
            {
                var node = entry!["node"]!.GetValue<string>();
                entries.RemoveAll(e => e.Entry["node"]!.GetValue<string>() == node); // force: taken over
                entries.Add((manager, entry.DeepClone()));
            }

            return Results.Json(body.DeepClone());
        }
    }

    private void PublishLocked(string stream, string type, JsonObject resource)
    {
        _version++;
        resource["metadata"]!["resourceVersion"] = _version.ToString(CultureInfo.InvariantCulture);
        var line = new JsonObject { ["type"] = type, ["object"] = resource.DeepClone() }.ToJsonString();
        _events.Add((_version, stream, line));
        foreach (var (watched, events, _) in _watchers)
        {
            if (watched == stream)
            {
                events.Writer.TryWrite(line);
            }
        }
    }

    private static string ConfigMapStream(string ns, string name) => $"configmaps/{ns}/{name}";

    private static JsonObject Status(int code, string reason, string message) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Status",
        ["status"] = "Failure",
        ["reason"] = reason,
        ["message"] = message,
        ["code"] = code,
    };
}
