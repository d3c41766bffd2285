using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using NUnit.Framework;

namespace WarpDrive.Config.Tests;

public sealed class FileLoadingTests
{
    private string _directory = "";

    [SetUp]
    public void CreateDirectory()
    {
        _directory = Path.Combine(Path.GetTempPath(), "warpdrive-config-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(_directory);
    }

    [TearDown]
    public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

    [Test]
    public void AFileOnDiskLoads()
    {
        var path = Path.Combine(_directory, "node.yaml");
        File.WriteAllText(path,
            $"""
            # a node config
            mount_point: /mnt/warpdrive
            backends:
              - name: local
                type: local
                config:
                  root: {_directory}
            """);

        var config = ConfigLoader.LoadFile(path);

        Assert.That(config.MountPoint, Is.EqualTo("/mnt/warpdrive"));
        Assert.That(config.Backends[0].Config["root"], Is.EqualTo(_directory));
    }

    [Test]
    public void AMissingFileNamesThePath()
    {
        var path = Path.Combine(_directory, "absent.yaml");

        var error = Assert.Throws<ConfigException>(() => ConfigLoader.LoadFile(path))!;

        Assert.That(error.Key, Is.EqualTo("config"));
        Assert.That(error.Message, Does.Contain(path));
    }

    [Test]
    public void AnEmptyFileOnlyMissesTheMountPoint()
    {
        var path = Path.Combine(_directory, "empty.yaml");
        File.WriteAllText(path, "");

        var error = Assert.Throws<ConfigException>(() => ConfigLoader.LoadFile(path))!;

        Assert.That(error.Key, Is.EqualTo("mount_point"));
    }

    [Test]
    public void TheExampleAtTheRepoRootLoadsAndValidates()
    {
        var example = Path.Combine(RepoRoot(), "config.example.yaml");
        var variables = new Dictionary<string, string> { ["WARPDRIVE_DATA_DIR"] = "/srv/datasets" };
        var activeLines = File.ReadLines(example).Where(line => !line.TrimStart().StartsWith('#'));
        var used = Regex.Matches(string.Join('\n', activeLines), @"(?<!\$)\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
            .Select(m => m.Groups[1].Value).ToHashSet();
        Assert.That(used, Is.SubsetOf(variables.Keys), "supply every ${VAR} the example uses in this test");

        var config = ConfigLoader.LoadFile(example, name => variables.GetValueOrDefault(name));

        Assert.That(config.MountPoint, Does.StartWith("/"));
        Assert.That(config.Backends, Has.Some.Matches<BackendConfig>(b => b.Type == BackendTypes.Local && b.Config["root"] == "/srv/datasets"));
    }

    [Test]
    public void EveryCommentedOutBackendExampleLoadsWhenUncommented()
    {
        var lines = File.ReadAllLines(Path.Combine(RepoRoot(), "config.example.yaml"));
        var inBackends = false;
        var uncommented = new List<string>();
        foreach (var line in lines)
        {
            inBackends = line.StartsWith("backends:", StringComparison.Ordinal)
                || (inBackends && !Regex.IsMatch(line, "^[a-z_]+:"));
            uncommented.Add(inBackends && line.StartsWith("  # ", StringComparison.Ordinal) ? "  " + line[4..] : line);
        }

        var config = ConfigLoader.LoadYaml(string.Join('\n', uncommented), name => name == "WARPDRIVE_DATA_DIR" ? "/srv/datasets" : null);

        Assert.That(config.Backends.Select(b => b.Type).Distinct(), Is.EquivalentTo(BackendTypes.All));
        Assert.That(config.Backends.Select(b => b.Auth.Method).Distinct(), Is.EquivalentTo(AuthMethods.All));
        Assert.That(config.Backends.Single(b => b.Name == "imagenet").Config["path_style"], Is.EqualTo("true"));
        Assert.That(config.Backends.Single(b => b.Name == "azurite").Config["endpoint"], Does.StartWith("http://127.0.0.1:10000/"));
    }

    /// <summary>
    /// Walks up from the test binaries to the folder holding WarpDrive.Operator.sln; when the binaries were built
    /// outside the tree (--artifacts-path /tmp/...), walks up from this source file instead.
    /// </summary>
    private static string RepoRoot([CallerFilePath] string sourceFile = "") =>
        FindUpwards(TestContext.CurrentContext.TestDirectory)
        ?? FindUpwards(Path.GetDirectoryName(sourceFile) ?? "")
        ?? throw new InvalidOperationException("WarpDrive.Operator.sln not found above " + TestContext.CurrentContext.TestDirectory);

    private static string? FindUpwards(string start)
    {
        for (var dir = start.Length == 0 ? null : new DirectoryInfo(start); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "WarpDrive.Operator.sln")))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}
