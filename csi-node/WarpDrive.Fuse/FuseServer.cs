using System.Collections.Concurrent;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Microsoft.Win32.SafeHandles;
using WarpDrive.Fuse.Handover;
using WarpDrive.Fuse.Native;
using WarpDrive.Fuse.Protocol;

namespace WarpDrive.Fuse;

/// <summary>
/// Serves one FUSE mount: mounts, negotiates INIT, then runs worker threads that each read requests
/// from their own clone of the /dev/fuse fd and answer them through <see cref="IFuseFileSystem"/>.
/// </summary>
/// <remarks>
/// A request is handled on the thread that read it (no hand-off: go-fuse measured that twice as fast).
/// When the filesystem answers with a pending task, the worker returns to the device at once and the
/// task's continuation writes the reply to the fd the request came from, which the kernel requires.
/// </remarks>
public sealed partial class FuseServer : IFuseConnection, IAsyncDisposable
{
    /// <summary>Protocol minor version we implement; we speak min(kernel, this).</summary>
    internal const uint OurMinor = 40;

    /// <summary>Largest WRITE payload the kernel may send; irrelevant for a read-only tree but sizes the request buffer.</summary>
    private const int MaxWrite = 128 * 1024;

    private readonly IFuseFileSystem _fileSystem;
    private readonly FuseMountOptions _options;
    private readonly ILogger _logger;
    private readonly string _mountPoint;
    private int _masterFd;
    private readonly List<int> _fds = [];
    private readonly ConcurrentDictionary<ulong, CancellationTokenSource> _pending = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _maxRead;
    private int _runningWorkers;
    private int _destroyed;
    private int _unmounted;
    private bool _resumed;

    private FuseServer(IFuseFileSystem fileSystem, FuseMountOptions options, ILogger logger, int fd)
    {
        _fileSystem = fileSystem;
        _options = options;
        _logger = logger;
        _mountPoint = Path.GetFullPath(options.MountPoint);
        _masterFd = fd;
        _fds.Add(fd);
        _maxRead = options.MaxPages * 4096;
    }

    /// <inheritdoc/>
    public uint ProtocolMinor { get; private set; }

    /// <inheritdoc/>
    public bool PassthroughAvailable { get; private set; }

    public string MountPoint => _mountPoint;

    /// <summary>Completes when the kernel ends the connection (unmount, abort) and every worker has stopped.</summary>
    public Task Completion => _completion.Task;

    /// <summary>Mounts <paramref name="fileSystem"/> and starts serving it. Throws <see cref="FuseMountException"/> on failure.</summary>
    public static FuseServer Mount(IFuseFileSystem fileSystem, FuseMountOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(fileSystem);
        ArgumentNullException.ThrowIfNull(options);
        Wire.VerifyLayouts();
        var fd = FuseMounter.Mount(options);
        var server = new FuseServer(fileSystem, options, logger, fd);
        try
        {
            server.Negotiate();
            server.StartWorkers();
        }
        catch
        {
            server.UnmountQuietly();
            LibC.Close(fd);
            throw;
        }

        return server;
    }

    /// <summary>
    /// Serves a connection another process mounted and handed over (<see cref="HeldConnection"/>): no mount, no INIT
    /// (the kernel negotiated once, with the first server). Before any worker reads, the kernel is told to send again
    /// every request that was read but not answered (FUSE_NOTIFY_RESEND), so a request the previous server took to
    /// its grave is answered here. On a kernel without it (before 6.9) the previous descriptors are replaced by fresh
    /// clones: once the holder lets go of the old ones, the kernel ends those stranded requests with an error instead
    /// of leaving their callers waiting for ever. Takes ownership of the held device descriptors.
    /// </summary>
    public static FuseServer Resume(IFuseFileSystem fileSystem, FuseMountOptions options, ILogger logger, HeldConnection held)
    {
        ArgumentNullException.ThrowIfNull(fileSystem);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(held);
        Wire.VerifyLayouts();
        var server = new FuseServer(fileSystem, options, logger, held.DeviceFds[0])
        {
            ProtocolMinor = held.ProtocolMinor,
            PassthroughAvailable = held.Passthrough,
        };
        server._fds.AddRange(held.DeviceFds.Skip(1));
        server._resumed = true;
        fileSystem.Initialize(server);
        var resend = DeviceChannel.Notify(server._masterFd, NotifyCode.Resend, ReadOnlySpan<byte>.Empty);
        if (resend == Errno.Ok)
        {
            logger.LogInformation("FUSE {MountPoint}: took over a live connection ({Count} fds); unanswered requests resent", server._mountPoint, held.DeviceFds.Count);
        }
        else
        {
            server.ReplaceDevicesAfterFailedResend(resend);
        }

        server.StartWorkers();
        return server;
    }

    /// <summary>
    /// Every /dev/fuse descriptor this server reads, and what INIT agreed: what a holder must keep so that the
    /// connection outlives this process. The descriptors stay this server's; the holder receives duplicates.
    /// </summary>
    public HeldConnection Export()
    {
        lock (_fds)
        {
            return new HeldConnection([.. _fds], ProtocolMinor, PassthroughAvailable);
        }
    }

    /// <summary>Whether this server took over a connection rather than mounting it.</summary>
    public bool Resumed => _resumed;

    private void ReplaceDevicesAfterFailedResend(Errno error)
    {
        _logger.LogWarning(
            "FUSE {MountPoint}: the kernel refused FUSE_NOTIFY_RESEND ({Error}; it needs Linux 6.9): requests the previous agent read but did not answer fail with an error once the holder lets go of its descriptors; new requests are served",
            _mountPoint, error);
        var fresh = new List<int>();
        for (var i = 0; i < Math.Clamp(_options.Workers, 1, 64); i++)
        {
            var clone = LibC.Open("/dev/fuse", LibC.O_RDWR | LibC.O_CLOEXEC);
            var master = (uint)_masterFd;
            unsafe
            {
                if (clone >= 0 && LibC.Ioctl(clone, FuseIoctl.Clone, &master) == 0)
                {
                    fresh.Add(clone);
                    continue;
                }
            }

            if (clone >= 0)
            {
                LibC.Close(clone);
            }
        }

        if (fresh.Count == 0)
        {
            return; // keep serving on the old descriptors: the stranded requests then wait, new ones are answered
        }

        lock (_fds)
        {
            foreach (var old in _fds)
            {
                LibC.Close(old);
            }

            _fds.Clear();
            _fds.AddRange(fresh);
            _masterFd = fresh[0];
        }
    }

    /// <summary>Unmounts (lazily if busy). The workers then see the connection end and stop.</summary>
    public void Unmount()
    {
        if (Interlocked.Exchange(ref _unmounted, 1) == 0)
        {
            FuseMounter.Unmount(_mountPoint);
        }
    }

    public async ValueTask DisposeAsync()
    {
        UnmountQuietly();
        // A lazily detached mount stays alive while a process still holds a file in it; don't hang a stop on that.
        await Task.WhenAny(Completion, Task.Delay(TimeSpan.FromSeconds(5))).ConfigureAwait(false);
        if (!Completion.IsCompleted)
        {
            _logger.LogWarning("FUSE workers for {MountPoint} still busy after unmount; leaving them to the kernel", _mountPoint);
            return;
        }

        lock (_fds)
        {
            foreach (var fd in _fds)
            {
                LibC.Close(fd);
            }

            _fds.Clear();
        }
    }

    private void UnmountQuietly()
    {
        try
        {
            Unmount();
        }
        catch (FuseMountException e)
        {
            _logger.LogWarning("unmount of {MountPoint} failed: {Error}", _mountPoint, e.Message);
        }
    }

    private int RequestBufferSize => Math.Max(MaxWrite + 4096, 8192 + 4096);

    /// <summary>Reads INIT on the calling thread and answers it, before any worker starts.</summary>
    private unsafe void Negotiate()
    {
        var buffer = GC.AllocateUninitializedArray<byte>(RequestBufferSize, pinned: true);
        while (true)
        {
            var length = ReadRequest(_masterFd, buffer);
            if (length < 0)
            {
                throw new FuseMountException($"the kernel closed {_mountPoint} before INIT");
            }

            var request = buffer.AsSpan(0, length);
            ref readonly var header = ref Wire.Read<InHeader>(request);
            if (header.Opcode != Opcode.Init)
            {
                DeviceChannel.ReplyError(_masterFd, header.Unique, Errno.EIO);
                continue;
            }

            ref readonly var init = ref Wire.Read<InitIn>(request[Wire.InHeaderSize..]);
            if (init.Major > 7)
            {
                // The kernel speaks a newer major: answer with ours and wait for it to send INIT again.
                Span<byte> major = stackalloc byte[8];
                System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(major, 7);
                DeviceChannel.ReplyData(_masterFd, header.Unique, major);
                continue;
            }

            if (init.Major < 7 || init.Minor < 31)
            {
                DeviceChannel.ReplyError(_masterFd, header.Unique, Errno.EPERM);
                throw new FuseMountException($"kernel FUSE protocol {init.Major}.{init.Minor} is too old (need 7.31 or newer)");
            }

            ReplyInit(header.Unique, init);
            return;
        }
    }

    private void ReplyInit(ulong unique, in InitIn init)
    {
        ProtocolMinor = Math.Min(init.Minor, OurMinor);
        var offered = (ulong)init.Flags;
        if ((offered & (ulong)InitFlags.InitExt) != 0)
        {
            offered |= (ulong)init.Flags2 << 32;
        }

        var wanted = InitFlags.AsyncRead | InitFlags.ParallelDirops | InitFlags.DoReaddirplus | InitFlags.ReaddirplusAuto
            | InitFlags.MaxPages | InitFlags.AutoInvalData | InitFlags.InitExt | InitFlags.CacheSymlinks;
        if (_options.RequestPassthrough && Environment.IsPrivilegedProcess)
        {
            wanted |= InitFlags.Passthrough;
        }

        var agreed = offered & (ulong)wanted;
        PassthroughAvailable = (agreed & (ulong)InitFlags.Passthrough) != 0;

        var reply = new InitOut
        {
            Major = 7,
            Minor = ProtocolMinor,
            MaxReadahead = init.MaxReadahead,
            Flags = (uint)agreed,
            Flags2 = (uint)(agreed >> 32),
            MaxBackground = _options.MaxBackground,
            // Kernel readahead is throttled once this many background requests are queued; keep it below max_background.
            CongestionThreshold = (ushort)Math.Max(1, _options.MaxBackground * 3 / 4),
            MaxWrite = MaxWrite,
            TimeGran = 1,
            MaxPages = _options.MaxPages,
            // Passthrough files may sit on a stacked filesystem of depth 1 (our cache directory on ext4/xfs).
            MaxStackDepth = PassthroughAvailable ? 1u : 0u,
        };
        var bytes = MemoryMarshal.AsBytes(new ReadOnlySpan<InitOut>(in reply));
        DeviceChannel.ReplyData(_masterFd, unique, bytes);
        _logger.LogInformation(
            "FUSE {MountPoint}: protocol 7.{Minor} (kernel 7.{KernelMinor}), max read {MaxRead} KiB, passthrough {Passthrough}",
            _mountPoint, ProtocolMinor, init.Minor, _maxRead / 1024, PassthroughAvailable ? "on" : "off");
        _fileSystem.Initialize(this);
    }

    private unsafe void StartWorkers()
    {
        var workers = Math.Clamp(_options.Workers, 1, 64);
        _runningWorkers = workers;
        int[] existing;
        lock (_fds)
        {
            existing = [.. _fds];
        }

        for (var i = 0; i < workers; i++)
        {
            // A taken-over connection brings its descriptors along (extra ones stay open, unread: after RESEND every
            // request waits on the connection's shared queue, which any descriptor reads).
            var fd = i < existing.Length ? existing[i] : CloneDevice();
            var thread = new Thread(() => WorkerLoop(fd))
            {
                IsBackground = true,
                Name = $"fuse-worker-{i}",
            };
            thread.Start();
        }
    }

    /// <summary>
    /// A clone shares the connection but has its own request queue position, so workers don't contend
    /// on one fd (FUSE_DEV_IOC_CLONE). Falls back to sharing the master fd on kernels without it.
    /// </summary>
    private unsafe int CloneDevice()
    {
        var clone = LibC.Open("/dev/fuse", LibC.O_RDWR | LibC.O_CLOEXEC);
        if (clone < 0)
        {
            return _masterFd;
        }

        var master = (uint)_masterFd;
        if (LibC.Ioctl(clone, FuseIoctl.Clone, &master) != 0)
        {
            _logger.LogDebug("FUSE_DEV_IOC_CLONE failed ({Error}); workers share one fd", LibC.Describe(Marshal.GetLastPInvokeError()));
            LibC.Close(clone);
            return _masterFd;
        }

        lock (_fds)
        {
            _fds.Add(clone);
        }

        return clone;
    }

    private void WorkerLoop(int fd)
    {
        var buffer = GC.AllocateUninitializedArray<byte>(RequestBufferSize, pinned: true);
        var worker = new WorkerState(fd);
        try
        {
            while (true)
            {
                var length = ReadRequest(fd, buffer);
                if (length < 0)
                {
                    break;
                }

                Dispatch(worker, buffer.AsSpan(0, length));
            }
        }
        catch (Exception e)
        {
            _logger.LogError(e, "FUSE worker for {MountPoint} failed", _mountPoint);
        }
        finally
        {
            if (Interlocked.Decrement(ref _runningWorkers) == 0)
            {
                EndSession();
            }
        }
    }

    /// <summary>Reads one request; -1 when the connection has ended.</summary>
    private unsafe int ReadRequest(int fd, byte[] buffer)
    {
        fixed (byte* p = buffer)
        {
            while (true)
            {
                var n = LibC.Read(fd, p, buffer.Length);
                if (n >= Wire.InHeaderSize)
                {
                    return (int)n;
                }

                if (n >= 0)
                {
                    _logger.LogError("short FUSE request ({Length} bytes) on {MountPoint}", n, _mountPoint);
                    continue;
                }

                var errno = Marshal.GetLastPInvokeError();
                switch (errno)
                {
                    case LibC.EINTR:
                    case LibC.EAGAIN:
                    case LibC.ENOENT: // the request was interrupted before we read it
                        continue;
                    case LibC.ENODEV: // unmounted or aborted
                        return -1;
                    default:
                        _logger.LogError("reading /dev/fuse for {MountPoint}: {Error}", _mountPoint, LibC.Describe(errno));
                        return -1;
                }
            }
        }
    }

    private void EndSession()
    {
        foreach (var pending in _pending.Values)
        {
            pending.Cancel();
        }

        if (Interlocked.Exchange(ref _destroyed, 1) == 0)
        {
            _fileSystem.Destroy();
        }

        _logger.LogInformation("FUSE session for {MountPoint} ended", _mountPoint);
        _completion.TrySetResult();
    }

    /// <inheritdoc/>
    public Errno InvalidateInode(ulong nodeId, long offset = 0, long length = 0)
    {
        Span<byte> body = stackalloc byte[24];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(body, nodeId);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(body[8..], offset);
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(body[16..], length);
        return DeviceChannel.Notify(_masterFd, NotifyCode.InvalidateInode, body);
    }

    /// <inheritdoc/>
    public Errno InvalidateEntry(ulong parentNodeId, string name)
    {
        var nameLength = System.Text.Encoding.UTF8.GetByteCount(name);
        Span<byte> body = stackalloc byte[16 + nameLength + 1];
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(body, parentNodeId);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(body[8..], (uint)nameLength);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(body[12..], 0);
        System.Text.Encoding.UTF8.GetBytes(name, body[16..]);
        body[^1] = 0;
        return DeviceChannel.Notify(_masterFd, NotifyCode.InvalidateEntry, body);
    }

    /// <inheritdoc/>
    public unsafe int OpenBacking(SafeFileHandle file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (!PassthroughAvailable)
        {
            return -(int)Errno.EOPNOTSUPP;
        }

        var map = new BackingMap { Fd = (int)file.DangerousGetHandle() };
        var id = LibC.Ioctl(_masterFd, FuseIoctl.BackingOpen, &map);
        return id > 0 ? id : -Marshal.GetLastPInvokeError();
    }

    /// <inheritdoc/>
    public unsafe void CloseBacking(int backingId)
    {
        var id = (uint)backingId;
        LibC.Ioctl(_masterFd, FuseIoctl.BackingClose, &id);
    }

    /// <summary>Per-thread state: the fd this worker reads and replies on, and a spare cancellation source.</summary>
    private sealed class WorkerState(int fd)
    {
        public int Fd { get; } = fd;

        /// <summary>
        /// Handed to each cancellable request. A request that completes synchronously gives it back untouched;
        /// one that goes pending keeps it (INTERRUPT may cancel it) and the worker makes a new one.
        /// </summary>
        public CancellationTokenSource Cancellation { get; set; } = new();

        /// <summary>The request being dispatched: its opcode and metrics start timestamp.</summary>
        public Opcode Opcode { get; private set; }

        public long Started { get; private set; }

        /// <summary>True once the current request's reply was left to a continuation, which records its metrics.</summary>
        public bool WentPending { get; private set; }

        public void Began(Opcode opcode, long started)
        {
            Opcode = opcode;
            Started = started;
            WentPending = false;
        }

        /// <summary>Marks the current request pending and returns its start timestamp for the continuation.</summary>
        public long GoPending()
        {
            WentPending = true;
            return Started;
        }
    }
}
