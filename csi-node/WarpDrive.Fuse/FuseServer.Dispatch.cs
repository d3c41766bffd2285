using System.Buffers;
using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Microsoft.Extensions.Logging;
using WarpDrive.Fuse.Protocol;

namespace WarpDrive.Fuse;

/// <summary>Request decoding and reply encoding: one small handler per opcode.</summary>
public sealed partial class FuseServer
{
    private const int O_ACCMODE = 3;
    private const int O_RDONLY = 0;
    private const int O_TRUNC = 0x200;
    private const int W_OK = 2;

    private delegate int Encoder<T>(Span<byte> destination, in T value);

    private void Dispatch(WorkerState worker, ReadOnlySpan<byte> request)
    {
        ref readonly var header = ref Wire.Read<InHeader>(request);
        var end = Math.Min((int)header.Len, request.Length);
        var body = request[Wire.InHeaderSize..end];
        var unique = header.Unique;
        worker.Began(header.Opcode, FuseMetrics.Start());
        if (_options.Debug)
        {
            _logger.LogDebug("fuse <- {Opcode} unique={Unique} node={Node} len={Length}", header.Opcode, unique, header.NodeId, header.Len);
        }

        try
        {
            switch (header.Opcode)
            {
                case Opcode.Lookup:
                    OnLookup(worker, header, body);
                    break;
                case Opcode.Forget:
                    _fileSystem.Forget(header.NodeId, Wire.Read<ulong>(body));
                    break;
                case Opcode.BatchForget:
                    OnBatchForget(body);
                    break;
                case Opcode.GetAttr:
                    OnGetAttr(worker, header, body);
                    break;
                case Opcode.Statx:
                    OnStatx(worker, header, body);
                    break;
                case Opcode.Open:
                    OnOpen(worker, header, body);
                    break;
                case Opcode.Read:
                    OnRead(worker, header, body);
                    break;
                case Opcode.Release:
                    _fileSystem.Release(header.NodeId, Wire.Read<ReleaseIn>(body).Fh);
                    DeviceChannel.ReplyError(worker.Fd, unique, Errno.Ok);
                    break;
                case Opcode.Flush:
                case Opcode.FSync:
                case Opcode.FSyncDir:
                case Opcode.SyncFs:
                    DeviceChannel.ReplyError(worker.Fd, unique, Errno.Ok); // nothing is ever dirty
                    break;
                case Opcode.OpenDir:
                    OnOpenDir(worker, header);
                    break;
                case Opcode.ReadDir:
                case Opcode.ReadDirPlus:
                    OnReadDir(worker, header, body, header.Opcode == Opcode.ReadDirPlus);
                    break;
                case Opcode.ReleaseDir:
                    _fileSystem.ReleaseDirectory(header.NodeId, Wire.Read<ReleaseIn>(body).Fh);
                    DeviceChannel.ReplyError(worker.Fd, unique, Errno.Ok);
                    break;
                case Opcode.StatFs:
                    Reply(worker.Fd, unique, _fileSystem.StatFs(header.NodeId), EncodeStatFs);
                    break;
                case Opcode.Access:
                    OnAccess(worker, header, body);
                    break;
                case Opcode.GetXattr:
                    OnGetXattr(worker, header, body);
                    break;
                case Opcode.ListXattr:
                    OnListXattr(worker, header, body);
                    break;
                case Opcode.LSeek:
                    OnLSeek(worker, header, body);
                    break;
                case Opcode.Interrupt:
                    OnInterrupt(worker, unique, Wire.Read<InterruptIn>(body).Unique);
                    break;
                case Opcode.Destroy:
                    if (Interlocked.Exchange(ref _destroyed, 1) == 0)
                    {
                        _fileSystem.Destroy();
                    }

                    DeviceChannel.ReplyError(worker.Fd, unique, Errno.Ok);
                    break;
                case Opcode.Init:
                    DeviceChannel.ReplyError(worker.Fd, unique, Errno.EIO); // INIT comes once, before the workers start
                    break;
                case Opcode.SetAttr:
                case Opcode.Symlink:
                case Opcode.MkNod:
                case Opcode.MkDir:
                case Opcode.Unlink:
                case Opcode.RmDir:
                case Opcode.Rename:
                case Opcode.Rename2:
                case Opcode.Link:
                case Opcode.Write:
                case Opcode.SetXattr:
                case Opcode.RemoveXattr:
                case Opcode.Create:
                case Opcode.Fallocate:
                case Opcode.CopyFileRange:
                case Opcode.TmpFile:
                    DeviceChannel.ReplyError(worker.Fd, unique, Errno.EROFS);
                    break;
                default:
                    DeviceChannel.ReplyError(worker.Fd, unique, Errno.ENOSYS);
                    break;
            }
        }
        catch (Exception e) when (header.Opcode is not (Opcode.Forget or Opcode.BatchForget))
        {
            // A bug in a handler must cost one request, never the mount.
            _logger.LogError(e, "FUSE {Opcode} on node {Node} failed", header.Opcode, header.NodeId);
            DeviceChannel.ReplyError(worker.Fd, unique, Errno.EIO);
        }

        if (!worker.WentPending)
        {
            FuseMetrics.Record(header.Opcode, worker.Started);
        }
    }

    private void OnLookup(WorkerState worker, in InHeader header, ReadOnlySpan<byte> body)
    {
        var name = ReadName(body);
        var cancellation = worker.Cancellation;
        var task = _fileSystem.LookupAsync(header.NodeId, name, Context(header), cancellation.Token);
        Complete(worker, header.Unique, task, EncodeEntry);
    }

    private void OnBatchForget(ReadOnlySpan<byte> body)
    {
        var count = (int)Wire.Read<BatchForgetIn>(body).Count;
        var entries = MemoryMarshal.Cast<byte, ForgetOne>(body[8..]);
        count = Math.Min(count, entries.Length);
        for (var i = 0; i < count; i++)
        {
            _fileSystem.Forget(entries[i].NodeId, entries[i].NLookup);
        }
    }

    private void OnGetAttr(WorkerState worker, in InHeader header, ReadOnlySpan<byte> body)
    {
        ulong? handle = null;
        if (body.Length >= 16)
        {
            ref readonly var input = ref Wire.Read<GetAttrIn>(body);
            if ((input.GetAttrFlags & GetAttrIn.FlagFh) != 0)
            {
                handle = input.Fh;
            }
        }

        var task = _fileSystem.GetAttributesAsync(header.NodeId, handle, worker.Cancellation.Token);
        Complete(worker, header.Unique, task, EncodeAttr);
    }

    private void OnStatx(WorkerState worker, in InHeader header, ReadOnlySpan<byte> body)
    {
        ref readonly var input = ref Wire.Read<StatxIn>(body);
        ulong? handle = (input.GetAttrFlags & GetAttrIn.FlagFh) != 0 ? input.Fh : null;
        var task = _fileSystem.GetAttributesAsync(header.NodeId, handle, worker.Cancellation.Token);
        Complete(worker, header.Unique, task, EncodeStatx);
    }

    private void OnOpen(WorkerState worker, in InHeader header, ReadOnlySpan<byte> body)
    {
        var flags = Wire.Read<OpenIn>(body).Flags;
        if ((flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC) != 0)
        {
            DeviceChannel.ReplyError(worker.Fd, header.Unique, Errno.EROFS);
            return;
        }

        var task = _fileSystem.OpenAsync(header.NodeId, flags, Context(header), worker.Cancellation.Token);
        Complete(worker, header.Unique, task, EncodeOpen);
    }

    private void OnOpenDir(WorkerState worker, in InHeader header)
    {
        var task = _fileSystem.OpenDirectoryAsync(header.NodeId, Context(header), worker.Cancellation.Token);
        Complete(worker, header.Unique, task, EncodeOpen);
    }

    private void OnRead(WorkerState worker, in InHeader header, ReadOnlySpan<byte> body)
    {
        ref readonly var input = ref Wire.Read<ReadIn>(body);
        var size = (int)Math.Min(input.Size, (uint)_maxRead);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(size, 1));
        var cancellation = worker.Cancellation;
        ValueTask<FuseResult<int>> task;
        try
        {
            task = _fileSystem.ReadAsync(header.NodeId, input.Fh, (long)input.Offset, buffer.AsMemory(0, size), cancellation.Token);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        if (task.IsCompletedSuccessfully)
        {
            ReplyRead(worker.Fd, header.Unique, task.Result, buffer);
            return;
        }

        worker.Cancellation = new CancellationTokenSource();
        _ = CompleteReadLaterAsync(worker.Fd, header.Unique, task, buffer, cancellation, worker.GoPending());
    }

    private async Task CompleteReadLaterAsync(int fd, ulong unique, ValueTask<FuseResult<int>> task, byte[] buffer, CancellationTokenSource cancellation, long started)
    {
        var result = await AwaitPending(unique, task, cancellation).ConfigureAwait(false);
        ReplyRead(fd, unique, result, buffer);
        FuseMetrics.Record(Opcode.Read, started);
    }

    private static void ReplyRead(int fd, ulong unique, FuseResult<int> result, byte[] buffer)
    {
        if (result.IsOk)
        {
            DeviceChannel.ReplyData(fd, unique, buffer.AsSpan(0, result.Value));
        }
        else
        {
            DeviceChannel.ReplyError(fd, unique, result.Error);
        }

        ArrayPool<byte>.Shared.Return(buffer);
    }

    private void OnReadDir(WorkerState worker, in InHeader header, ReadOnlySpan<byte> body, bool plus)
    {
        ref readonly var input = ref Wire.Read<ReadIn>(body);
        var size = (int)Math.Min(input.Size, (uint)_maxRead);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(size, 1));
        var writer = new DirectoryEntryWriter();
        writer.Reset(buffer.AsMemory(0, size), plus);
        var cancellation = worker.Cancellation;
        ValueTask<Errno> task;
        try
        {
            task = _fileSystem.ReadDirectoryAsync(header.NodeId, input.Fh, (long)input.Offset, writer, cancellation.Token);
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }

        if (task.IsCompletedSuccessfully)
        {
            ReplyReadDir(worker.Fd, header.Unique, task.Result, writer, buffer);
            return;
        }

        worker.Cancellation = new CancellationTokenSource();
        _ = CompleteReadDirLaterAsync(worker.Fd, header.Unique, task, writer, buffer, cancellation, plus ? Opcode.ReadDirPlus : Opcode.ReadDir, worker.GoPending());
    }

    private async Task CompleteReadDirLaterAsync(int fd, ulong unique, ValueTask<Errno> task, DirectoryEntryWriter writer, byte[] buffer, CancellationTokenSource cancellation, Opcode opcode, long started)
    {
        _pending[unique] = cancellation;
        Errno error;
        try
        {
            error = await task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            error = Errno.EINTR;
        }
        catch (Exception e)
        {
            _logger.LogError(e, "FUSE READDIR failed");
            error = Errno.EIO;
        }
        finally
        {
            _pending.TryRemove(unique, out _);
            cancellation.Dispose();
        }

        ReplyReadDir(fd, unique, error, writer, buffer);
        FuseMetrics.Record(opcode, started);
    }

    private static void ReplyReadDir(int fd, ulong unique, Errno error, DirectoryEntryWriter writer, byte[] buffer)
    {
        if (error == Errno.Ok)
        {
            DeviceChannel.ReplyData(fd, unique, buffer.AsSpan(0, writer.BytesWritten));
        }
        else
        {
            DeviceChannel.ReplyError(fd, unique, error);
        }

        ArrayPool<byte>.Shared.Return(buffer);
    }

    private void OnAccess(WorkerState worker, in InHeader header, ReadOnlySpan<byte> body)
    {
        var mask = Wire.Read<AccessIn>(body).Mask;
        var error = (mask & W_OK) != 0 ? Errno.EROFS : _fileSystem.Access(header.NodeId, mask, Context(header));
        DeviceChannel.ReplyError(worker.Fd, header.Unique, error);
    }

    private void OnGetXattr(WorkerState worker, in InHeader header, ReadOnlySpan<byte> body)
    {
        var size = (int)Wire.Read<GetXattrIn>(body).Size;
        var name = ReadName(body[8..]);
        var node = header.NodeId;
        ReplyXattr(worker.Fd, header.Unique, size, (destination) => _fileSystem.GetExtendedAttribute(node, name, destination));
    }

    private void OnListXattr(WorkerState worker, in InHeader header, ReadOnlySpan<byte> body)
    {
        var size = (int)Wire.Read<GetXattrIn>(body).Size;
        var node = header.NodeId;
        ReplyXattr(worker.Fd, header.Unique, size, (destination) => _fileSystem.ListExtendedAttributes(node, destination));
    }

    private delegate FuseResult<int> XattrReader(Span<byte> destination);

    /// <summary>Size 0 asks only for the length (fuse_getxattr_out); otherwise the value itself, or ERANGE.</summary>
    private static void ReplyXattr(int fd, ulong unique, int size, XattrReader read)
    {
        if (size == 0)
        {
            var probe = read(Span<byte>.Empty);
            if (!probe.IsOk)
            {
                DeviceChannel.ReplyError(fd, unique, probe.Error);
                return;
            }

            Span<byte> reply = stackalloc byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(reply, (uint)probe.Value);
            BinaryPrimitives.WriteUInt32LittleEndian(reply[4..], 0);
            DeviceChannel.ReplyData(fd, unique, reply);
            return;
        }

        var buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            var result = read(buffer.AsSpan(0, size));
            if (result.IsOk)
            {
                DeviceChannel.ReplyData(fd, unique, buffer.AsSpan(0, result.Value));
            }
            else
            {
                DeviceChannel.ReplyError(fd, unique, result.Error);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private void OnLSeek(WorkerState worker, in InHeader header, ReadOnlySpan<byte> body)
    {
        ref readonly var input = ref Wire.Read<LSeekIn>(body);
        var task = _fileSystem.SeekAsync(header.NodeId, input.Fh, input.Offset, input.Whence, worker.Cancellation.Token);
        Complete(worker, header.Unique, task, EncodeLSeek);
    }

    private void OnInterrupt(WorkerState worker, ulong unique, ulong target)
    {
        if (_pending.TryGetValue(target, out var cancellation))
        {
            // Cancel off this thread: callbacks registered on the token must not run on a device reader.
            ThreadPool.UnsafeQueueUserWorkItem(static c => TryCancel(c), cancellation, preferLocal: false);
            return; // the interrupted request answers (EINTR or its result); INTERRUPT itself gets no reply
        }

        // Not (yet) pending: EAGAIN makes the kernel send the INTERRUPT again later.
        DeviceChannel.ReplyError(worker.Fd, unique, Errno.EAGAIN);
    }

    private static void TryCancel(CancellationTokenSource cancellation)
    {
        try
        {
            cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The request finished meanwhile.
        }
    }

    /// <summary>Answers a request whose result is a fixed-size structure, now or when its task completes.</summary>
    private void Complete<T>(WorkerState worker, ulong unique, ValueTask<FuseResult<T>> task, Encoder<T> encode)
    {
        if (task.IsCompletedSuccessfully)
        {
            Reply(worker.Fd, unique, task.Result, encode);
            return;
        }

        var cancellation = worker.Cancellation;
        worker.Cancellation = new CancellationTokenSource();
        _ = CompleteLaterAsync(worker.Fd, unique, task, encode, cancellation, worker.Opcode, worker.GoPending());
    }

    private async Task CompleteLaterAsync<T>(int fd, ulong unique, ValueTask<FuseResult<T>> task, Encoder<T> encode, CancellationTokenSource cancellation, Opcode opcode, long started)
    {
        var result = await AwaitPending(unique, task, cancellation).ConfigureAwait(false);
        Reply(fd, unique, result, encode);
        FuseMetrics.Record(opcode, started);
    }

    private async ValueTask<FuseResult<T>> AwaitPending<T>(ulong unique, ValueTask<FuseResult<T>> task, CancellationTokenSource cancellation)
    {
        _pending[unique] = cancellation;
        try
        {
            return await task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return Errno.EINTR;
        }
        catch (Exception e)
        {
            _logger.LogError(e, "FUSE request {Unique} failed", unique);
            return Errno.EIO;
        }
        finally
        {
            _pending.TryRemove(unique, out _);
            cancellation.Dispose();
        }
    }

    private static void Reply<T>(int fd, ulong unique, FuseResult<T> result, Encoder<T> encode)
    {
        if (!result.IsOk)
        {
            DeviceChannel.ReplyError(fd, unique, result.Error);
            return;
        }

        Span<byte> payload = stackalloc byte[DeviceChannel.SmallReplyCapacity];
        var length = encode(payload, result.Value);
        DeviceChannel.ReplyData(fd, unique, payload[..length]);
    }

    private static int EncodeEntry(Span<byte> destination, in FuseEntry entry)
    {
        Wire.WriteEntryOut(destination, entry);
        return Wire.EntryOutSize;
    }

    private static int EncodeAttr(Span<byte> destination, in FuseAttributesReply reply)
    {
        Wire.WriteAttrOut(destination, reply);
        return Wire.AttrOutSize;
    }

    private static int EncodeStatx(Span<byte> destination, in FuseAttributesReply reply)
    {
        Wire.WriteStatxOut(destination, reply);
        return Wire.StatxOutSize;
    }

    private static int EncodeOpen(Span<byte> destination, in FuseOpenReply reply)
    {
        BinaryPrimitives.WriteUInt64LittleEndian(destination, reply.Handle);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[8..], (uint)reply.Flags);
        BinaryPrimitives.WriteInt32LittleEndian(destination[12..], reply.BackingId);
        return Wire.OpenOutSize;
    }

    private static int EncodeLSeek(Span<byte> destination, in long offset)
    {
        BinaryPrimitives.WriteInt64LittleEndian(destination, offset);
        return 8;
    }

    private static int EncodeStatFs(Span<byte> destination, in FuseStatFs statFs)
    {
        destination[..Wire.StatFsOutSize].Clear();
        BinaryPrimitives.WriteUInt64LittleEndian(destination, statFs.Blocks);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[8..], statFs.BlocksFree);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[16..], statFs.BlocksAvailable);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[24..], statFs.Files);
        BinaryPrimitives.WriteUInt64LittleEndian(destination[32..], statFs.FilesFree);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[40..], statFs.BlockSize);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[44..], statFs.NameLength);
        BinaryPrimitives.WriteUInt32LittleEndian(destination[48..], statFs.BlockSize); // frsize
        return Wire.StatFsOutSize;
    }

    private static FuseRequestContext Context(in InHeader header) => new(header.Uid, header.Gid, header.Pid);

    /// <summary>Names arrive NUL-terminated.</summary>
    private static string ReadName(ReadOnlySpan<byte> body)
    {
        var end = body.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? body : body[..end]);
    }
}
