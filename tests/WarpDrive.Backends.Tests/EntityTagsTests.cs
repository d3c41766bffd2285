using WarpDrive.Backends;

namespace WarpDrive.Backends.Tests;

public sealed class EntityTagsTests
{
    [TestCase("\"0x8DC1\"", "0x8DC1")]
    [TestCase("0x8DC1", "0x8DC1")]
    [TestCase("W/\"abc\"", "abc")]
    [TestCase("", "")]
    [TestCase(null, "")]
    [TestCase("\"", "\"")]
    public void The_same_version_has_one_spelling(string? reported, string expected) =>
        Assert.That(EntityTags.Normalize(reported), Is.EqualTo(expected));
}
