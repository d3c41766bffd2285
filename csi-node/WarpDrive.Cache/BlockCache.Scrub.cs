using Microsoft.Extensions.Logging;

namespace WarpDrive.Cache;

/// <summary>
/// The slow background scrub. Reads through the agent verify the sub-blocks they touch on every read, but the kernel
/// reads passthrough files without us, and a passthrough open trusts blocks this process wrote or checked whole: so
/// every cached block is re-read and re-hashed now and then, and a block whose bytes no longer match its sums is
/// dropped. A dropped block makes its object incomplete, so no new open is passthrough and the next read refetches it.
/// </summary>
public sealed partial class BlockCache
{
    /// <summary>Re-hashes every cached block once; returns how many were checked and how many were corrupt (and dropped).</summary>
    public async Task<(long Checked, long Corrupt)> ScrubAsync(CancellationToken cancellationToken = default)
    {
        CachedObject[] objects;
        lock (_objectsGate)
        {
            objects = [.. _objects.Values];
            foreach (var cachedObject in objects)
            {
                cachedObject.Retain();
            }
        }

        long verified = 0;
        long corrupt = 0;
        try
        {
            foreach (var cachedObject in objects)
            {
                for (var index = 0L; index < cachedObject.BlockCount; index++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    if (cachedObject.GetBlock(index) is not { IsRetired: false } entry || VerifyOnDisk(cachedObject, index, entry) is not { } intact)
                    {
                        continue;
                    }

                    verified++;
                    if (!intact)
                    {
                        corrupt++;
                        OnCorruptBlock(cachedObject, index, entry);
                    }
                }

                // One object at a time, then give the read path the disk and the thread back.
                await Task.Yield();
            }
        }
        finally
        {
            foreach (var cachedObject in objects)
            {
                cachedObject.Release();
            }
        }

        if (corrupt > 0)
        {
            _logger.LogWarning("Scrub checked {Blocks} cached blocks and dropped {Corrupt} that no longer matched their checksum", verified, corrupt);
        }

        return (verified, corrupt);
    }

    /// <summary>Checks a block as it is on disk now, whatever was checked before; null when the block went away meanwhile.</summary>
    private bool? VerifyOnDisk(CachedObject cachedObject, long index, BlockEntry entry) =>
        VerifyWhole(cachedObject, index, entry) switch
        {
            ServeOutcome.Served => true,
            ServeOutcome.Corrupt => false,
            _ => null,
        };

    private async Task ScrubLoopAsync()
    {
        var token = _lifetime.Token;
        if (_options.ScrubInterval <= TimeSpan.Zero)
        {
            return;
        }

        while (!token.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(_options.ScrubInterval, token);
                await ScrubAsync(token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, "Scrub pass failed");
            }
        }
    }
}
