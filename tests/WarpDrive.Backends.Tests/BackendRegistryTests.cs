using WarpDrive.Backends.Local;

namespace WarpDrive.Backends.Tests;

[TestFixture]
public sealed class BackendRegistryTests
{
    [Test]
    public async Task Add_get_remove_and_dispose_of_removed_backends()
    {
        using var dir = new TempDirectory("registry");
        dir.WriteFile("f", [1]);
        await using var registry = new BackendRegistry();
        var backend = new LocalBackend("one", dir.Path);
        await backend.ReadAtAsync("f", 0, new byte[1], CancellationToken.None);

        Assert.That(registry.Add(backend), Is.True);
        Assert.That(registry.Add(new LocalBackend("one", dir.Path)), Is.False, "names are unique");
        Assert.That(registry.TryGet("one", out var found), Is.True);
        Assert.That(found, Is.SameAs(backend));
        Assert.That(registry.All, Has.Count.EqualTo(1));
        Assert.That(await registry.RemoveAsync("one"), Is.True);
        Assert.That(await registry.RemoveAsync("one"), Is.False);
        Assert.That(registry.TryGet("one", out _), Is.False);
        Assert.That(backend.OpenHandleCount, Is.Zero, "removal disposed the backend and closed its handles");
    }

    [Test]
    public void Factory_creates_local_backends_and_rejects_unknown_types()
    {
        using var dir = new TempDirectory("factory");

        var local = BackendFactory.Create("l", "local", new Dictionary<string, string> { ["root"] = dir.Path });
        var unknown = Assert.Throws<ArgumentException>(() => BackendFactory.Create("x", "ftp", new Dictionary<string, string>()));
        var noRoot = Assert.Throws<BackendConfigException>(() => BackendFactory.Create("l", "local", new Dictionary<string, string>()));

        Assert.That(local, Is.TypeOf<LocalBackend>());
        Assert.That(local.Type, Is.EqualTo("local"));
        Assert.That(unknown!.Message, Does.Contain("ftp"));
        Assert.That(noRoot!.Message, Does.Contain("root"));
    }
}
