using System.Text;

namespace WarpDrive.Backends.Tests.Contract;

/// <summary>
/// The behaviour every remote backend must show, run against each backend's real (or, for GCS, test-double)
/// server. Each test works under its own random prefix so tests never see each other's objects.
/// </summary>
public abstract class BackendContractTests
{
    /// <summary>A backend on the fixture's server, rooted at <paramref name="prefix"/>, with extra config.</summary>
    protected abstract IBackend CreateBackend(string prefix, IReadOnlyDictionary<string, string> extraConfig);

    /// <summary>A backend on the fixture's server whose credentials the server refuses.</summary>
    protected abstract IBackend CreateBackendWithWrongCredentials();

    /// <summary>A backend whose endpoint is 127.0.0.1:<paramref name="closedPort"/>, where nothing listens.</summary>
    protected abstract IBackend CreateUnreachableBackend(int closedPort, IReadOnlyDictionary<string, string> extraConfig);

    private static string NewPrefix() => "t" + Guid.NewGuid().ToString("N")[..12];

    [Test]
    public async Task Write_stat_read_ranges_and_delete_round_trip()
    {
        await using var backend = CreateBackend(NewPrefix(), new Dictionary<string, string>());
        var content = TestData.Bytes(300_001, 7);

        await backend.WriteAsync("dir/blob.bin", new MemoryStream(content), CancellationToken.None);
        var stat = await backend.StatAsync("dir/blob.bin", CancellationToken.None);

        Assert.That(stat, Is.Not.Null);
        Assert.That(stat!.IsDirectory, Is.False);
        Assert.That(stat.Size, Is.EqualTo(content.Length));
        Assert.That(stat.ETag, Is.Not.Empty);
        var random = new Random(8);
        foreach (var (offset, length) in new[] { (0L, 1), (0L, content.Length), (299_990L, 100), (12345L, 65536) }
                     .Concat(Enumerable.Range(0, 10).Select(_ => (random.NextInt64(content.Length), random.Next(1, 100_000)))))
        {
            var buffer = new byte[length];
            var read = await backend.ReadAtAsync("dir/blob.bin", offset, buffer, CancellationToken.None);
            var expected = (int)Math.Min(length, content.Length - offset);
            Assert.That(read, Is.EqualTo(expected), $"offset {offset} length {length}");
            Assert.That(buffer.AsSpan(0, read).SequenceEqual(content.AsSpan((int)offset, read)), Is.True, $"offset {offset} length {length}");
        }
        Assert.That(await backend.ReadAtAsync("dir/blob.bin", content.Length, new byte[10], CancellationToken.None), Is.Zero, "read at the end");
        Assert.That(await backend.ReadAtAsync("dir/blob.bin", content.Length + 100, new byte[10], CancellationToken.None), Is.Zero, "read past the end");
        await using (var stream = await backend.OpenReadAsync("dir/blob.bin", CancellationToken.None))
        {
            using var copy = new MemoryStream();
            await stream.CopyToAsync(copy);
            Assert.That(copy.ToArray(), Is.EqualTo(content));
        }

        await backend.DeleteAsync("dir/blob.bin", CancellationToken.None);
        await backend.DeleteAsync("dir/blob.bin", CancellationToken.None);

        Assert.That(await backend.StatAsync("dir/blob.bin", CancellationToken.None), Is.Null);
    }

    [Test]
    public async Task Overwriting_replaces_content_and_changes_the_etag()
    {
        await using var backend = CreateBackend(NewPrefix(), new Dictionary<string, string>());
        await backend.WriteAsync("obj", new MemoryStream(Encoding.UTF8.GetBytes("first")), CancellationToken.None);
        var before = await backend.StatAsync("obj", CancellationToken.None);

        await backend.WriteAsync("obj", new MemoryStream(Encoding.UTF8.GetBytes("second!")), CancellationToken.None);
        var after = await backend.StatAsync("obj", CancellationToken.None);
        var buffer = new byte[16];
        var read = await backend.ReadAtAsync("obj", 0, buffer, CancellationToken.None);

        Assert.That(after!.ETag, Is.Not.EqualTo(before!.ETag));
        Assert.That(Encoding.UTF8.GetString(buffer, 0, read), Is.EqualTo("second!"));
    }

    [Test]
    public async Task A_listing_and_a_stat_name_one_version_alike_and_a_read_of_a_replaced_version_is_refused()
    {
        await using var backend = CreateBackend(NewPrefix(), new Dictionary<string, string>());
        await backend.WriteAsync("v/obj", new MemoryStream(Encoding.UTF8.GetBytes("first")), CancellationToken.None);
        var stat = await backend.StatAsync("v/obj", CancellationToken.None);
        var listed = new List<BackendEntry>();
        await foreach (var entry in backend.ListAsync("v", recursive: false, CancellationToken.None))
        {
            listed.Add(entry);
        }

        var buffer = new byte[16];
        var read = await backend.ReadVersionAtAsync("v/obj", stat!.ETag, 0, buffer, CancellationToken.None);
        await backend.WriteAsync("v/obj", new MemoryStream(Encoding.UTF8.GetBytes("second!")), CancellationToken.None);
        var refused = Assert.ThrowsAsync<BackendException>(async () => await backend.ReadVersionAtAsync("v/obj", stat.ETag, 0, new byte[16], CancellationToken.None));

        Assert.That(listed.Single().ETag, Is.EqualTo(stat.ETag), "a listing and a stat must spell one version the same way");
        Assert.That(Encoding.UTF8.GetString(buffer, 0, read), Is.EqualTo("first"), "the current version reads");
        Assert.That(refused!.Kind, Is.EqualTo(BackendErrorKind.Changed), "bytes of another version are never returned");
    }

    [Test]
    public async Task Listing_pages_through_more_objects_than_one_page_holds()
    {
        await using var backend = CreateBackend(NewPrefix(), new Dictionary<string, string> { ["page_size"] = "3" });
        var names = Enumerable.Range(0, 8).Select(i => $"many/f{i:00}").ToList();
        foreach (var name in names)
        {
            await backend.WriteAsync(name, new MemoryStream([1, 2, 3]), CancellationToken.None);
        }
        await backend.WriteAsync("many/sub/a", new MemoryStream([1]), CancellationToken.None);
        await backend.WriteAsync("many/sub/deeper/b", new MemoryStream([1]), CancellationToken.None);
        await backend.WriteAsync("top", new MemoryStream([1]), CancellationToken.None);

        var children = await backend.ListAsync("many", recursive: false, CancellationToken.None).ToListAsync();
        var all = await backend.ListAsync("", recursive: true, CancellationToken.None).ToListAsync();
        var root = await backend.ListAsync("", recursive: false, CancellationToken.None).ToListAsync();

        Assert.That(children.Where(e => !e.IsDirectory).Select(e => e.Path), Is.EquivalentTo(names));
        Assert.That(children.Where(e => !e.IsDirectory).Select(e => e.Size), Is.All.EqualTo(3));
        Assert.That(children.Where(e => e.IsDirectory).Select(e => e.Path), Is.EqualTo(new[] { "many/sub" }));
        Assert.That(all.Select(e => e.Path), Is.EquivalentTo(names.Append("many/sub/a").Append("many/sub/deeper/b").Append("top")));
        Assert.That(all.Any(e => e.IsDirectory), Is.False);
        Assert.That(root.Select(e => (e.Path, e.IsDirectory)), Is.EquivalentTo(new[] { ("many", true), ("top", false) }));
    }

    [Test]
    public async Task Missing_paths_stat_null_read_not_found_and_list_empty()
    {
        await using var backend = CreateBackend(NewPrefix(), new Dictionary<string, string>());
        await backend.WriteAsync("dir/file", new MemoryStream([1]), CancellationToken.None);

        var directory = await backend.StatAsync("dir", CancellationToken.None);
        var missing = await backend.StatAsync("nothing/here", CancellationToken.None);
        var read = Assert.ThrowsAsync<BackendException>(async () => await backend.ReadAtAsync("nothing/here", 0, new byte[4], CancellationToken.None));
        var listed = await backend.ListAsync("nothing", false, CancellationToken.None).ToListAsync();

        Assert.That(directory, Is.Not.Null);
        Assert.That(directory!.IsDirectory, Is.True);
        Assert.That(missing, Is.Null);
        Assert.That(read!.Kind, Is.EqualTo(BackendErrorKind.NotFound));
        Assert.That(read.Message, Does.StartWith(backend.Name + ": "));
        Assert.That(listed, Is.Empty);
    }

    [Test]
    public async Task Refused_credentials_are_access_denied()
    {
        await using var backend = CreateBackendWithWrongCredentials();

        var e = Assert.ThrowsAsync<BackendException>(async () => await backend.WriteAsync("x", new MemoryStream([1]), CancellationToken.None));
        var list = Assert.ThrowsAsync<BackendException>(async () => await backend.ListAsync("", false, CancellationToken.None).ToListAsync());

        Assert.That(e!.Kind, Is.EqualTo(BackendErrorKind.AccessDenied), e.Message);
        Assert.That(list!.Kind, Is.EqualTo(BackendErrorKind.AccessDenied), list.Message);
    }

    [Test]
    public async Task A_closed_port_is_unavailable_after_retries()
    {
        var config = new Dictionary<string, string> { ["timeout"] = "2s", ["retry_base_delay"] = "10ms" };
        await using var backend = CreateUnreachableBackend(ServerProcess.FreePort(), config);

        var e = Assert.ThrowsAsync<BackendException>(async () => await backend.ReadAtAsync("x", 0, new byte[4], CancellationToken.None));

        Assert.That(e!.Kind, Is.EqualTo(BackendErrorKind.Unavailable), e.Message);
    }
}
