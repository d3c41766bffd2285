using System.IO.Hashing;
using System.Text;
using WarpDrive.Backends.Local;
using WarpDrive.Fuse;

namespace WarpDrive.FileSystem.Tests;

[TestFixture]
public sealed class NodeIdTests
{
    private const ulong ForcedId = 0x1234_5678_9ABC;
    private TempTree _tree = null!;
    private TempTree _state = null!;

    [SetUp]
    public void SetUp()
    {
        _tree = new TempTree("ids");
        _tree.WriteFile("one", "1");
        _tree.WriteFile("two", "22");
        _tree.WriteFile("dir/three", "333");
        _state = new TempTree("ids-state");
    }

    [TearDown]
    public void TearDown()
    {
        _tree.Dispose();
        _state.Dispose();
    }

    [Test]
    public async Task A_restarted_filesystem_gives_every_path_the_same_node_id()
    {
        string[] paths = ["/t", "/t/one", "/t/two", "/t/dir", "/t/dir/three"];
        var before = await IdsAsync(NewFileSystem(), paths);

        // Look them up in a different order after the "restart": ids depend on the path only.
        var after = await IdsAsync(NewFileSystem(), [.. paths.Reverse()]);

        Assert.That(after.Reverse().ToArray(), Is.EqualTo(before));
        Assert.That(before.Distinct().Count(), Is.EqualTo(paths.Length));
        Assert.That(before, Has.None.EqualTo(0UL).And.None.EqualTo(1UL));
    }

    [Test]
    public async Task The_node_id_is_also_the_inode_number()
    {
        var fs = NewFileSystem();
        var entry = await Kernel.LookupAsync(fs, "/t/one");

        var attributes = await fs.GetAttributesAsync(entry.NodeId, null, CancellationToken.None);

        Assert.That(entry.Attributes.Ino, Is.EqualTo(entry.NodeId));
        Assert.That(attributes.Value.Attributes.Ino, Is.EqualTo(entry.NodeId));
        Assert.That(entry.Generation, Is.Zero);
    }

    [Test]
    public async Task A_collision_is_rehashed_and_resolved_the_same_way_after_a_restart()
    {
        var first = NewFileSystem(CollidingHash);
        var one = await Kernel.LookupAsync(first, "/t/one");
        var two = await Kernel.LookupAsync(first, "/t/two");
        Assert.That(one.NodeId, Is.EqualTo(ForcedId));
        Assert.That(two.NodeId, Is.Not.EqualTo(ForcedId));
        Assert.That(File.ReadAllText(StatePath), Does.Contain("/t/two"));

        // After a restart the loser of the collision is looked up first; the record keeps it off the winner's id.
        var second = NewFileSystem(CollidingHash);
        var twoAgain = await Kernel.LookupAsync(second, "/t/two");
        var oneAgain = await Kernel.LookupAsync(second, "/t/one");

        Assert.That(twoAgain.NodeId, Is.EqualTo(two.NodeId));
        Assert.That(oneAgain.NodeId, Is.EqualTo(ForcedId));
    }

    [Test]
    public async Task Reserved_values_are_never_handed_out()
    {
        string? hashed = null;
        var fs = NewFileSystem((identity, seed) =>
        {
            if (seed == 3 && PathOf(identity) == "/t/one")
            {
                hashed = identity;
            }

            return seed switch
            {
                0 => 1UL, // the root's id
                1 => 0UL,
                2 => ulong.MaxValue,
                _ => RealHash(identity, seed),
            };
        });

        var one = await Kernel.LookupAsync(fs, "/t/one");

        Assert.That(hashed, Is.Not.Null.And.StartsWith("/t/one\0"), "a file's id hashes its path and its version");
        Assert.That(one.NodeId, Is.EqualTo(RealHash(hashed!, 3)));
    }

    [Test]
    public async Task Forget_drops_a_node_when_its_last_reference_goes()
    {
        var fs = NewFileSystem();
        var first = await Kernel.LookupAsync(fs, "/t/one");
        var second = await Kernel.LookupAsync(fs, "/t/one");
        Assert.That(second.NodeId, Is.EqualTo(first.NodeId));
        Assert.That(fs.LookupCountOf(first.NodeId), Is.EqualTo(2));

        fs.Forget(first.NodeId, 1);
        var stillKnown = await fs.GetAttributesAsync(first.NodeId, null, CancellationToken.None);
        fs.Forget(first.NodeId, 1);
        var gone = await fs.GetAttributesAsync(first.NodeId, null, CancellationToken.None);

        Assert.That(stillKnown.IsOk, Is.True);
        Assert.That(gone.Error, Is.EqualTo(Errno.ENOENT));
        Assert.That(fs.LiveNodeCount, Is.EqualTo(2), "the root and /t remain");
    }

    [Test]
    public async Task The_root_is_never_forgotten()
    {
        var fs = NewFileSystem();

        fs.Forget(1, 1000);

        Assert.That((await fs.GetAttributesAsync(1, null, CancellationToken.None)).Value.Attributes.IsDirectory, Is.True);
        Assert.That((await Kernel.WalkAsync(fs, "/t/one")).Value.NodeId, Is.Not.Zero);
    }

    [Test]
    public async Task Concurrent_lookups_of_one_name_make_one_backend_call_and_count_every_reference()
    {
        var backend = new FaultInjectingBackend(new LocalBackend("ids", _tree.Root));
        var fs = TestFileSystem.Create("/t", backend);
        var parent = await Kernel.LookupAsync(fs, "/t");
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        backend.StatGate = gate.Task;

        var lookups = Enumerable.Range(0, 8)
            .Select(_ => fs.LookupAsync(parent.NodeId, "one", Kernel.User, CancellationToken.None).AsTask())
            .ToArray();
        gate.SetResult();
        var results = await Task.WhenAll(lookups);

        Assert.That(backend.StatCalls, Is.EqualTo(1));
        Assert.That(results.Select(r => r.Value.NodeId).Distinct().Count(), Is.EqualTo(1));
        Assert.That(fs.LookupCountOf(results[0].Value.NodeId), Is.EqualTo(8));
    }

    private string StatePath => _state.PathOf("node-ids");

    private WarpFileSystem NewFileSystem(Func<string, int, ulong>? hash = null) =>
        TestFileSystem.Create(
            new FileSystemOptions { NodeIdStatePath = StatePath },
            [new BackendMount("/t", new LocalBackend("ids", _tree.Root))],
            nodeIdHash: hash);

    private static async Task<ulong[]> IdsAsync(WarpFileSystem fs, string[] paths)
    {
        var ids = new ulong[paths.Length];
        for (var i = 0; i < paths.Length; i++)
        {
            ids[i] = (await Kernel.LookupAsync(fs, paths[i])).NodeId;
        }

        return ids;
    }

    private static ulong CollidingHash(string path, int seed) =>
        seed == 0 && PathOf(path) is "/t/one" or "/t/two" ? ForcedId : RealHash(path, seed);

    /// <summary>A file's identity is "path\0etag" (InodeTable.IdentityOf); the path part decides the forced collision.</summary>
    private static string PathOf(string identity) => identity.Split('\0')[0];

    private static ulong RealHash(string path, int seed) => XxHash64.HashToUInt64(Encoding.UTF8.GetBytes(path), seed);
}
