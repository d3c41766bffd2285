using Csi.V1;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using NUnit.Framework;
using WarpDrive.Config;

namespace WarpDrive.Csi.Tests;

/// <summary>
/// The CSI logic in isolation, over a mounter test double that holds a source mount "in flight" for as long as
/// the test wants: the only way to make a second call overlap the first without racing the kernel.
/// </summary>
public sealed class VolumeLockTests
{
    [Test]
    public async Task ACallForAVolumeAlreadyInFlightIsAborted()
    {
        var root = Directory.CreateTempSubdirectory("warpdrive-csi-locks-").FullName;
        try
        {
            var mounter = new BlockingMounterTestDouble();
            var config = new NodeConfig
            {
                MountPoint = "/unused",
                Backends = [new BackendConfig { Name = "shared", Type = "local", MountPath = "/shared", Config = new Dictionary<string, string> { ["root"] = root } }],
            };
            var sources = new SourceMounts(mounter, config, Path.Combine(root, "mounts"), TimeSpan.Zero, NullLogger.Instance);
            var node = new NodeService(new NodeIdentity("n"), sources, new Publications(), new VolumeLocks(), mounter, NoServiceAccountDirectory.Instance, NullLogger<NodeService>.Instance);

            var first = node.NodePublishVolume(PluginFixture.Publish("vol-1", Path.Combine(root, "t1"), "shared"), new ServerCallContextTestDouble());
            await mounter.MountStarted.Task;

            var second = Assert.ThrowsAsync<RpcException>(() => node.NodePublishVolume(PluginFixture.Publish("vol-1", Path.Combine(root, "t2"), "shared"), new ServerCallContextTestDouble()))!;
            var unpublish = Assert.ThrowsAsync<RpcException>(() => node.NodeUnpublishVolume(new NodeUnpublishVolumeRequest { VolumeId = "vol-1", TargetPath = Path.Combine(root, "t1") }, new ServerCallContextTestDouble()))!;
            Assert.That(second.StatusCode, Is.EqualTo(StatusCode.Aborted));
            Assert.That(unpublish.StatusCode, Is.EqualTo(StatusCode.Aborted));

            mounter.FinishMount.SetResult();
            await first;
            Assert.That(mounter.Binds, Is.EqualTo(new[] { (Path.Combine(root, "mounts", "shared", "shared"), Path.Combine(root, "t1")) }));
            Assert.DoesNotThrowAsync(() => node.NodePublishVolume(PluginFixture.Publish("vol-1", Path.Combine(root, "t1"), "shared"), new ServerCallContextTestDouble()),
                "after the first call ends the lock is free again");
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [Test]
    public void TheLockIsPerVolume()
    {
        var locks = new VolumeLocks();
        using var a = locks.TryAcquire("a");

        Assert.That(locks.TryAcquire("a"), Is.Null);
        using var b = locks.TryAcquire("b");
        Assert.That(b, Is.Not.Null);
        a!.Dispose();
        using var again = locks.TryAcquire("a");
        Assert.That(again, Is.Not.Null);
    }

    /// <summary>Records calls; the source "mount" is a directory made at the mount point once the test releases it.</summary>
    private sealed class BlockingMounterTestDouble : IMounter
    {
        private readonly HashSet<string> _mounted = [];

        public TaskCompletionSource MountStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource FinishMount { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<(string Source, string Target)> Binds { get; } = [];

        public async Task<IAsyncDisposable> MountSourceAsync(SourceMountRequest request, CancellationToken cancellationToken)
        {
            MountStarted.TrySetResult();
            await FinishMount.Task;
            Directory.CreateDirectory(request.MountPoint + request.Backend.MountPath);
            return new Nothing();
        }

        public void BindMountReadOnly(string source, string target)
        {
            Binds.Add((source, target));
            _mounted.Add(target);
        }

        public void Unmount(string target) => _mounted.Remove(target);

        public bool IsMountPoint(string path) => _mounted.Contains(path);

        private sealed class Nothing : IAsyncDisposable
        {
            public ValueTask DisposeAsync() => ValueTask.CompletedTask;
        }
    }

    /// <summary>The minimum a service method needs from a call context, for calling it without a server.</summary>
    private sealed class ServerCallContextTestDouble : ServerCallContext
    {
        protected override string MethodCore => "test";

        protected override string HostCore => "localhost";

        protected override string PeerCore => "unix:test";

        protected override DateTime DeadlineCore => DateTime.MaxValue;

        protected override Metadata RequestHeadersCore { get; } = [];

        protected override CancellationToken CancellationTokenCore => CancellationToken.None;

        protected override Metadata ResponseTrailersCore { get; } = [];

        protected override Status StatusCore { get; set; }

        protected override WriteOptions? WriteOptionsCore { get; set; }

        protected override AuthContext AuthContextCore { get; } = new(null, []);

        protected override ContextPropagationToken CreatePropagationTokenCore(ContextPropagationOptions? options) => throw new NotSupportedException();

        protected override Task WriteResponseHeadersAsyncCore(Metadata responseHeaders) => Task.CompletedTask;
    }
}
