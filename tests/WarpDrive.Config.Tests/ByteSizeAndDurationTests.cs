using NUnit.Framework;

namespace WarpDrive.Config.Tests;

public sealed class ByteSizeAndDurationTests
{
    [TestCase("1024", 1024L)]
    [TestCase("0", 0L)]
    [TestCase("100B", 100L)]
    [TestCase("512KiB", 512L * 1024)]
    [TestCase("512KB", 512L * 1024)]
    [TestCase("64k", 64L * 1024)]
    [TestCase("4MB", 4L << 20)]
    [TestCase("4MiB", 4L << 20)]
    [TestCase("4 mb", 4L << 20)]
    [TestCase("500GB", 500L << 30)]
    [TestCase("1.5GB", 3L << 29)]
    [TestCase("2TiB", 2L << 40)]
    [TestCase(" 8G ", 8L << 30)]
    public void SizesAreBinary(string text, long bytes) =>
        Assert.That(ByteSize.Parse(text), Is.EqualTo(bytes));

    [TestCase("")]
    [TestCase("MB")]
    [TestCase("-1MB")]
    [TestCase("4XB")]
    [TestCase("1.2.3GB")]
    [TestCase("99999999999TB")]
    public void NonSizesAreRefused(string text) =>
        Assert.Throws<FormatException>(() => ByteSize.Parse(text));

    [TestCase(4L << 20, "4MiB")]
    [TestCase(3L << 29, "1.5GiB")]
    [TestCase(1000L, "1000B")]
    [TestCase(1536L, "1.5KiB")]
    [TestCase(50L << 30, "50GiB")]
    [TestCase(0L, "0B")]
    public void FormatIsExactAndReadsBack(long bytes, string text)
    {
        Assert.That(ByteSize.Format(bytes), Is.EqualTo(text));
        Assert.That(ByteSize.Parse(ByteSize.Format(bytes)), Is.EqualTo(bytes));
    }

    [TestCase("5s", 5_000)]
    [TestCase("10m", 600_000)]
    [TestCase("24h", 86_400_000)]
    [TestCase("500ms", 500)]
    [TestCase("1h30m", 5_400_000)]
    [TestCase("1.5h", 5_400_000)]
    [TestCase("2d", 172_800_000)]
    [TestCase("0", 0)]
    [TestCase("-5s", -5_000)]
    public void DurationsParse(string text, long milliseconds) =>
        Assert.That(Duration.Parse(text), Is.EqualTo(TimeSpan.FromMilliseconds(milliseconds)));

    [TestCase("")]
    [TestCase("5")]
    [TestCase("5x")]
    [TestCase("h")]
    [TestCase("1h 30m")]
    [TestCase("5S")]
    public void NonDurationsAreRefused(string text) =>
        Assert.Throws<FormatException>(() => Duration.Parse(text));

    [TestCase(5_400_000, "1h30m")]
    [TestCase(500, "500ms")]
    [TestCase(0, "0s")]
    [TestCase(86_400_000, "24h")]
    [TestCase(61_001, "1m1s1ms")]
    public void DurationFormatReadsBack(long milliseconds, string text)
    {
        var duration = TimeSpan.FromMilliseconds(milliseconds);
        Assert.That(Duration.Format(duration), Is.EqualTo(text));
        Assert.That(Duration.Parse(text), Is.EqualTo(duration));
    }

    [Test]
    public void SizesAndDurationsInYamlUseTheseParsers()
    {
        var config = ConfigLoader.LoadYaml(
            "mount_point: /m\ncache:\n  max_size: 1.5GB\n  block_size: 512KiB\nfuse:\n  dir_cache_ttl: 1h30m\n", _ => null);

        Assert.That(config.Cache.MaxSize, Is.EqualTo(3L << 29));
        Assert.That(config.Cache.BlockSize, Is.EqualTo(512L * 1024));
        Assert.That(config.Fuse.DirCacheTtl, Is.EqualTo(TimeSpan.FromMinutes(90)));
    }
}
