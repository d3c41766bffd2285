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
/// </summary>
internal sealed class KubernetesApiTestDouble : IAsyncDisposable
{
    private const string Prefix = "/apis/warpdrive.io/v1alpha1";
    private readonly WebApplication _app;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<string, JsonObject> _warms = new(StringComparer.Ordinal);
    private readonly List<(long Version, string Line)> _events = [];
    private readonly List<(Channel<string> Events, HttpContext Context)> _watchers = [];
    private readonly List<RecordedApply> _applies = [];
    private readonly string _nodeName;
    private readonly Dictionary<string, string> _nodeLabels;
    private TaskCompletionSource? _hold;
    private long _version = 100;
    private long _expiredUpTo;
    private int _failLists;
    private int _lists;

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

    /// <summary>LIST calls answered so far (failed ones included).</summary>
    public int Lists => Volatile.Read(ref _lists);

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
            foreach (var (_, context) in _watchers)
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
            foreach (var (events, _) in _watchers)
            {
                events.Writer.TryComplete();
            }
        }
    }

    public IReadOnlyList<RecordedApply> AppliesTo(string ns, string name) => Applies.Where(a => a.Namespace == ns && a.Name == name).ToList();

    /// <summary>Creates a job (ADDED) with a fresh uid; returns the uid.</summary>
    /// <param name="entries">status.nodes as agents left it (e.g. before this agent restarted).</param>
    public string Add(string ns, string name, string source, string[] paths, Dictionary<string, string>? nodeSelector = null, string? maxSize = null, int? workers = null,
        WarmNodeEntry[]? entries = null)
    {
        var spec = new JsonObject { ["source"] = source, ["paths"] = new JsonArray(paths.Select(p => (JsonNode)p).ToArray()) };
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
            PublishLocked("ADDED", warm);
        }

        return uid;
    }

    public void Delete(string ns, string name)
    {
        lock (_gate)
        {
            if (_warms.Remove($"{ns}/{name}", out var warm))
            {
                PublishLocked("DELETED", warm);
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

        var from = long.Parse(context.Request.Query["resourceVersion"].ToString(), CultureInfo.InvariantCulture);
        var events = Channel.CreateUnbounded<string>();
        lock (_gate)
        {
            if (from <= _expiredUpTo)
            {
                events.Writer.TryWrite(new JsonObject { ["type"] = "ERROR", ["object"] = Status(410, "Expired", $"too old resource version: {from}") }.ToJsonString());
                events.Writer.TryComplete();
            }

            // Whatever happened since the version the client listed at, then everything new: no event is lost.
            foreach (var (version, line) in _events.Where(e => e.Version > from))
            {
                events.Writer.TryWrite(line);
            }

            _watchers.Add((events, context));
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
                _watchers.Remove((events, context));
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
            PublishLocked("MODIFIED", warm);
            return Results.Json(warm.DeepClone());
        }
    }

    private void PublishLocked(string type, JsonObject warm)
    {
        _version++;
        warm["metadata"]!["resourceVersion"] = _version.ToString(CultureInfo.InvariantCulture);
        var line = new JsonObject { ["type"] = type, ["object"] = warm.DeepClone() }.ToJsonString();
        _events.Add((_version, line));
        foreach (var (events, _) in _watchers)
        {
            events.Writer.TryWrite(line);
        }
    }

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
