using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using WarpDrive.Backends;
using WarpDrive.Bench.S3;

namespace WarpDrive.Bench.Tests;

/// <summary>
/// The benchmark S3 responder on a real loopback port, read by the clients the benchmarks run against it:
/// WarpDrive's own S3 backend (AWS SDK), rclone and s3fs. Each must list the tree and read back the exact bytes.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class BenchS3ServerTests
{
    private const string Bucket = "bench-test";
    private string _root = "";
    private WebApplication? _server;
    private string _endpoint = "";
    private readonly Dictionary<string, byte[]> _files = [];

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        _root = Directory.CreateTempSubdirectory("warpdrive-bench-s3-").FullName;
        var random = new Random(7);
        foreach (var (path, size) in new[] { ("train/shard-0.tar", 5_000_000), ("train/shard-1.tar", 1_234_567), ("val/a/img.jpg", 150_000), ("top.txt", 12), ("empty", 0) })
        {
            var content = new byte[size];
            random.NextBytes(content);
            var full = Path.Combine(_root, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            await File.WriteAllBytesAsync(full, content);
            _files[path] = content;
        }

        var port = FreePort();
        _server = await new BenchS3Server(_root, Bucket).StartAsync(port, CancellationToken.None);
        _endpoint = $"http://127.0.0.1:{port}";
        Environment.SetEnvironmentVariable("WARPDRIVE_BENCH_TEST_KEY", "bench");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        Directory.Delete(_root, recursive: true);
    }

    private IBackend CreateBackend() => BackendFactory.Create("bench-s3", "s3", new Dictionary<string, string>
    {
        ["bucket"] = Bucket,
        ["endpoint"] = _endpoint,
        ["path_style"] = "true",
        ["access_key_env"] = "WARPDRIVE_BENCH_TEST_KEY",
        ["secret_key_env"] = "WARPDRIVE_BENCH_TEST_KEY",
    });

    [Test]
    public async Task TheS3BackendListsStatsAndReadsRangesOfTheDirectory()
    {
        await using var backend = CreateBackend();

        var all = new List<BackendEntry>();
        await foreach (var entry in backend.ListAsync("", recursive: true, CancellationToken.None))
        {
            all.Add(entry);
        }

        var top = new List<BackendEntry>();
        await foreach (var entry in backend.ListAsync("", recursive: false, CancellationToken.None))
        {
            top.Add(entry);
        }

        Assert.That(all.Select(e => e.Path).Order(StringComparer.Ordinal), Is.EqualTo(_files.Keys.Order(StringComparer.Ordinal)));
        Assert.That(all.Select(e => e.Size), Is.EqualTo(all.Select(e => (long)_files[e.Path].Length)));
        Assert.That(top.Where(e => e.IsDirectory).Select(e => e.Path), Is.EquivalentTo(new[] { "train", "val" }));
        Assert.That(top.Where(e => !e.IsDirectory).Select(e => e.Path), Is.EquivalentTo(new[] { "empty", "top.txt" }));

        var stat = await backend.StatAsync("train/shard-0.tar", CancellationToken.None);
        Assert.That(stat, Is.Not.Null);
        Assert.That(stat!.Size, Is.EqualTo(5_000_000));
        Assert.That(stat.ETag, Is.EqualTo(all.Single(e => e.Path == "train/shard-0.tar").ETag));
        Assert.That(await backend.StatAsync("train", CancellationToken.None), Has.Property(nameof(BackendEntry.IsDirectory)).True);
        Assert.That(await backend.StatAsync("missing", CancellationToken.None), Is.Null);

        var buffer = new byte[3 << 20];
        var read = await backend.ReadVersionAtAsync("train/shard-0.tar", stat.ETag, 1_000_000, buffer, CancellationToken.None);
        Assert.That(read, Is.EqualTo(buffer.Length));
        Assert.That(buffer, Is.EqualTo(_files["train/shard-0.tar"].AsSpan(1_000_000, buffer.Length).ToArray()));
        var tail = await backend.ReadAtAsync("train/shard-0.tar", 4_999_990, buffer, CancellationToken.None);
        Assert.That(buffer.AsSpan(0, tail).ToArray(), Is.EqualTo(_files["train/shard-0.tar"][4_999_990..]));
    }

    [Test]
    public async Task AReadOfAnotherVersionIsRefusedAsChanged()
    {
        await using var backend = CreateBackend();

        var error = Assert.ThrowsAsync<BackendException>(async () =>
            await backend.ReadVersionAtAsync("top.txt", "0000-1", 0, new byte[12], CancellationToken.None));

        Assert.That(error!.Kind, Is.EqualTo(BackendErrorKind.Changed));
    }

    [Test]
    public void RcloneListsAndReadsTheSameBytes()
    {
        var listing = Run("rclone", ["--config", "/dev/null", "lsf", "-R", "--files-only", $"bench:{Bucket}"], out _);
        Assert.That(listing.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal), Is.EqualTo(_files.Keys.Order(StringComparer.Ordinal)));

        var copy = Directory.CreateTempSubdirectory("warpdrive-bench-rclone-").FullName;
        try
        {
            Run("rclone", ["--config", "/dev/null", "copy", $"bench:{Bucket}", copy], out _);
            foreach (var (path, content) in _files)
            {
                Assert.That(File.ReadAllBytes(Path.Combine(copy, path)), Is.EqualTo(content), path);
            }
        }
        finally
        {
            Directory.Delete(copy, recursive: true);
        }
    }

    [Test]
    public void S3fsMountsAndReadsTheSameBytes()
    {
        var work = Directory.CreateTempSubdirectory("warpdrive-bench-s3fs-").FullName;
        var mountPoint = Path.Combine(work, "mnt");
        Directory.CreateDirectory(mountPoint);
        var passwd = Path.Combine(work, "passwd");
        File.WriteAllText(passwd, "bench:bench\n");
        File.SetUnixFileMode(passwd, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        using var s3fs = Process.Start(new ProcessStartInfo("s3fs", [Bucket, mountPoint, "-f", "-o", $"url={_endpoint},use_path_request_style,passwd_file={passwd},ro"])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        }) ?? throw new InvalidOperationException("could not start s3fs (bash hack/deps.sh installs it)");
        s3fs.OutputDataReceived += (_, _) => { };
        s3fs.ErrorDataReceived += (_, _) => { };
        s3fs.BeginOutputReadLine();
        s3fs.BeginErrorReadLine();
        try
        {
            var deadline = DateTime.UtcNow.AddSeconds(30);
            while (!File.ReadLines("/proc/self/mounts").Any(l => l.Split(' ')[1] == mountPoint))
            {
                Assert.That(s3fs.HasExited || DateTime.UtcNow > deadline, Is.False, "s3fs did not mount");
                Thread.Sleep(100);
            }

            Assert.That(Directory.GetFileSystemEntries(mountPoint).Select(Path.GetFileName), Is.EquivalentTo(new[] { "empty", "top.txt", "train", "val" }));
            foreach (var (path, content) in _files)
            {
                Assert.That(File.ReadAllBytes(Path.Combine(mountPoint, path)), Is.EqualTo(content), path);
            }
        }
        finally
        {
            Process.Start("umount", ["-l", mountPoint])?.WaitForExit();
            if (!s3fs.WaitForExit(10_000))
            {
                s3fs.Kill();
                s3fs.WaitForExit();
            }

            Directory.Delete(work, recursive: true);
        }
    }

    private string Run(string executable, IEnumerable<string> arguments, out string errors)
    {
        var info = new ProcessStartInfo(executable, arguments) { RedirectStandardOutput = true, RedirectStandardError = true };
        info.Environment["RCLONE_CONFIG_BENCH_TYPE"] = "s3";
        info.Environment["RCLONE_CONFIG_BENCH_PROVIDER"] = "Other";
        info.Environment["RCLONE_CONFIG_BENCH_ENV_AUTH"] = "false";
        info.Environment["RCLONE_CONFIG_BENCH_ACCESS_KEY_ID"] = "bench";
        info.Environment["RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY"] = "bench";
        info.Environment["RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE"] = "true";
        info.Environment["RCLONE_CONFIG_BENCH_REGION"] = "us-east-1";
        info.Environment["RCLONE_CONFIG_BENCH_ENDPOINT"] = _endpoint;
        info.Environment.Remove("AWS_CA_BUNDLE");
        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {executable}");
        var errorTask = process.StandardError.ReadToEndAsync();
        var output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        errors = errorTask.Result;
        Assert.That(process.ExitCode, Is.Zero, $"{executable} failed: {errors}");
        return output;
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
