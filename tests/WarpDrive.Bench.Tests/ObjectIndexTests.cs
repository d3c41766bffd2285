using WarpDrive.Bench.S3;

namespace WarpDrive.Bench.Tests;

/// <summary>The benchmark S3 responder's listings over a real directory: order, delimiter roll-up and paging.</summary>
[TestFixture]
public sealed class ObjectIndexTests
{
    private string _root = "";

    [SetUp]
    public void CreateTree()
    {
        _root = Directory.CreateTempSubdirectory("warpdrive-bench-index-").FullName;
        foreach (var path in new[] { "a/1", "a/2", "a/b/3", "b", "c/d/e/4", "c/5", "z" })
        {
            var full = Path.Combine(_root, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, path);
        }
    }

    [TearDown]
    public void RemoveTree() => Directory.Delete(_root, recursive: true);

    [Test]
    public void RecursiveListingHasEveryFileInKeyOrder()
    {
        var page = ObjectIndex.Build(_root).List("", delimiter: null, after: null, maxKeys: 1000);

        Assert.That(page.Contents.Select(o => o.Key), Is.EqualTo(new[] { "a/1", "a/2", "a/b/3", "b", "c/5", "c/d/e/4", "z" }));
        Assert.That(page.CommonPrefixes, Is.Empty);
        Assert.That(page.IsTruncated, Is.False);
        Assert.That(page.Contents.Single(o => o.Key == "c/5").Size, Is.EqualTo(3));
    }

    [Test]
    public void DelimiterRollsDeeperKeysIntoCommonPrefixes()
    {
        var index = ObjectIndex.Build(_root);

        var top = index.List("", "/", after: null, maxKeys: 1000);
        var inC = index.List("c/", "/", after: null, maxKeys: 1000);

        Assert.That(top.Contents.Select(o => o.Key), Is.EqualTo(new[] { "b", "z" }));
        Assert.That(top.CommonPrefixes, Is.EqualTo(new[] { "a/", "c/" }));
        Assert.That(inC.Contents.Select(o => o.Key), Is.EqualTo(new[] { "c/5" }));
        Assert.That(inC.CommonPrefixes, Is.EqualTo(new[] { "c/d/" }));
    }

    [TestCase(null)]
    [TestCase("/")]
    public void PagesOfOneContinueWhereTheLastEnded(string? delimiter)
    {
        var index = ObjectIndex.Build(_root);
        var whole = index.List("", delimiter, after: null, maxKeys: 1000);
        var expected = whole.Contents.Select(o => o.Key).Concat(whole.CommonPrefixes).Order(StringComparer.Ordinal).ToList();

        var seen = new List<string>();
        string? after = null;
        for (var pages = 0; pages < 20; pages++)
        {
            var page = index.List("", delimiter, after, maxKeys: 1);
            seen.AddRange(page.Contents.Select(o => o.Key).Concat(page.CommonPrefixes));
            if (!page.IsTruncated)
            {
                break;
            }

            after = page.NextAfter;
        }

        Assert.That(seen, Is.EqualTo(expected));
    }

    [TestCase("bytes=0-9", 100, 0, 10)]
    [TestCase("bytes=90-", 100, 90, 10)]
    [TestCase("bytes=95-200", 100, 95, 5)]
    [TestCase("bytes=-30", 100, 70, 30)]
    public void SatisfiableRangesAreClampedToTheObject(string header, long size, long offset, long length)
    {
        Assert.That(BenchS3Server.TryParseRange(header, size, out var o, out var l), Is.True);
        Assert.That((o, l), Is.EqualTo((offset, length)));
    }

    [TestCase("bytes=100-", 100)]
    [TestCase("bytes=5-2", 100)]
    [TestCase("bytes=0-1,4-5", 100)]
    [TestCase("items=0-1", 100)]
    public void UnsatisfiableRangesAreRefused(string header, long size) =>
        Assert.That(BenchS3Server.TryParseRange(header, size, out _, out _), Is.False);
}
