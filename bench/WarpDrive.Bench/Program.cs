using System.CommandLine;
using WarpDrive.Bench;

var work = new Option<string>("--dir") { Description = "Working directory for the dataset, mount point and cache.", DefaultValueFactory = _ => "/tmp/warpdrive-bench" };
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

var root = new RootCommand("warpdrive-bench: WarpDrive's benchmarks, each printed beside the same work done natively.") { seqread };
return await root.Parse(args).InvokeAsync();
