using System.CommandLine;
using WarpDrive.Bench;
using WarpDrive.Bench.Targets;

var work = new Option<string>("--dir") { Description = "Working directory for the dataset, mount points and caches.", DefaultValueFactory = _ => "/tmp/warpdrive-bench" };
var files = new Option<int>("--files", "-n") { Description = "Number of shard files.", DefaultValueFactory = _ => 16 };
var size = new Option<int>("--size-mib", "-s") { Description = "Size of each file in MiB.", DefaultValueFactory = _ => 64 };
var readers = new Option<int>("--readers", "-k") { Description = "Parallel readers.", DefaultValueFactory = _ => 4 };
var repeats = new Option<int>("--repeat", "-r") { Description = "Runs per figure; the median is reported.", DefaultValueFactory = _ => 3 };
var json = new Option<string?>("--json") { Description = "Also write the results as JSON to this file." };

var seqread = new Command("seqread", "N files of S MiB read by K readers, natively and through a WarpDrive mount; prints MiB/s and the ratio.")
{
    work, files, size, readers, repeats, json,
};
seqread.SetAction((result, _) => new SeqReadWorkload(
    result.GetValue(work)!, result.GetValue(files), result.GetValue(size), result.GetValue(readers), result.GetValue(repeats)).RunAsync(result.GetValue(json)));

var allTargets = new[] { "native", "warpdrive-local", "warpdrive-s3", "warpdrive-azure", "rclone-mount", "s3fs" };
var allWorkloads = new[] { "seqread", "randread", "meta", "warm", "epoch", "smallfiles", "pytorch-jpeg", "pytorch-tar" };
var output = new Option<string>("--out") { Description = "Where results.json and the charts go.", DefaultValueFactory = _ => "bench-results" };
var docs = new Option<string?>("--docs") { Description = "Regenerate <dir>/benchmarks.md and <dir>/benchmarks/*.png from this run." };
var quick = new Option<bool>("--quick") { Description = "Small dataset, one run per figure (no median)." };
var latency = new Option<int>("--latency-ms") { Description = "Round trip the latency proxy adds in front of a remote server.", DefaultValueFactory = _ => 10 };
var rtts = new Option<int[]>("--s3-rtt-ms") { Description = "Round trips every S3 client is measured at (0: straight to the benchmark S3 responder).", DefaultValueFactory = _ => [0, 10], AllowMultipleArgumentsPerToken = true };
var targets = new Option<string[]>("--targets") { Description = "Targets to run.", DefaultValueFactory = _ => allTargets, AllowMultipleArgumentsPerToken = true };
var workloads = new Option<string[]>("--workloads") { Description = "Workloads to run.", DefaultValueFactory = _ => allWorkloads, AllowMultipleArgumentsPerToken = true };
var azure = new Option<string?>("--azure-endpoint") { Description = "Azurite's blob endpoint (through the latency proxy), without the account." };
var azureUpload = new Option<string?>("--azure-upload-endpoint") { Description = "Azurite's blob endpoint reached directly." };
var metaObjects = new Option<int?>("--meta-objects") { Description = "Objects in the meta tree (default 10,000; 2,000 with --quick)." };
var ctl = new Option<string?>("--ctl") { Description = "warpdrive-ctl executable: WarpDrive targets are warmed with `warpdrive-ctl warm` instead of reads through the mount." };
var suite = new Command("suite", "Every workload against every target (native, WarpDrive over local/S3/Azure, rclone mount, s3fs); table, results.json, charts.")
{
    work, output, docs, quick, latency, rtts, targets, workloads, azure, azureUpload, metaObjects, ctl,
};
suite.SetAction((result, _) =>
{
    var azureEndpoint = result.GetValue(azure);
    return new Suite(new SuiteOptions(
        Path.GetFullPath(result.GetValue(work)!), Path.GetFullPath(result.GetValue(output)!), result.GetValue(docs) is { } d ? Path.GetFullPath(d) : null,
        result.GetValue(quick), result.GetValue(latency), result.GetValue(rtts)!, result.GetValue(targets)!, result.GetValue(workloads)!,
        azureEndpoint, result.GetValue(azureUpload) ?? azureEndpoint, result.GetValue(ctl), result.GetValue(metaObjects))).RunAsync();
});

var listen = new Option<int>("--listen-port") { Description = "Loopback port to accept on.", Required = true };
var upstream = new Option<int>("--upstream-port") { Description = "Loopback port of the real server.", Required = true };
var proxy = new Command("proxy", "A TCP proxy on 127.0.0.1 that adds a round trip of --latency-ms to every exchange (runs until SIGTERM).")
{
    listen, upstream, latency,
};
proxy.SetAction(async (result, token) =>
{
    Console.WriteLine($"proxy: 127.0.0.1:{result.GetValue(listen)} -> 127.0.0.1:{result.GetValue(upstream)}, +{result.GetValue(latency)} ms round trip");
    await new LatencyProxy(result.GetValue(listen), result.GetValue(upstream), TimeSpan.FromMilliseconds(result.GetValue(latency))).RunAsync(token).ConfigureAwait(false);
    return 0;
});

var serveRoot = new Option<string>("--root") { Description = "Directory whose files are served as the bucket's objects.", Required = true };
var bucket = new Option<string>("--bucket") { Description = "Bucket name (path-style).", DefaultValueFactory = _ => WarpDrive.Bench.Targets.Remotes.Bucket };
var s3Server = new Command("s3-server", "A fast read-only S3-compatible responder for benchmarks: one bucket served from a directory on 127.0.0.1 (runs until SIGTERM).")
{
    serveRoot, bucket, listen,
};
s3Server.SetAction(async (result, token) =>
{
    var server = new WarpDrive.Bench.S3.BenchS3Server(result.GetValue(serveRoot)!, result.GetValue(bucket)!);
    Console.WriteLine($"s3-server: {server.ObjectCount} objects of {result.GetValue(serveRoot)} as bucket {result.GetValue(bucket)} on 127.0.0.1:{result.GetValue(listen)}");
    await server.RunAsync(result.GetValue(listen), token).ConfigureAwait(false);
    return 0;
});

var root = new RootCommand("warpdrive-bench: WarpDrive's benchmarks, each printed beside the same work done natively and by other FUSE clients.") { seqread, suite, proxy, s3Server };
return await root.Parse(args).InvokeAsync();
