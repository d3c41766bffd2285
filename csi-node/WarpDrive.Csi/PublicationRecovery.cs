using Microsoft.Extensions.Logging;

namespace WarpDrive.Csi;

/// <summary>
/// After a restart, re-learns what the last run published, from its records (<see cref="PublicationStore"/>) and
/// the mount table, before kubelet's first call. The last run's source FUSE mounts are dead (their server was that
/// process; the host has detached them), so every target kubelet still has mounted shows a dead tree: each such
/// source is mounted again and each target bound again from it, a short gap instead of a dead volume for every
/// container (re)started in the pod from now on. The restored publications hold their sources like any other, so
/// NodeUnpublishVolume of a volume published before the restart releases the source exactly once.
/// </summary>
/// <remarks>
/// Containers already running keep the view they were started with (kubelet binds the target into them without
/// propagation). With an fd holder the source's connection outlives the restart and is taken over before this runs
/// (the node host's <c>PluginHolders</c>): the target still shows a live tree, those containers never notice, and the
/// publication is only recorded again. Without one the target is dead and is bound again from a fresh mount, which
/// serves containers started from then on.
/// </remarks>
public static class PublicationRecovery
{
    /// <summary>How many mounts may be stacked on one target before we stop detaching (never loop forever).</summary>
    private const int MaxStackedMounts = 8;

    /// <summary>What happened: targets bound again, and records dropped (target gone, source gone, or failed).</summary>
    public readonly record struct Outcome(int Restored, int Dropped);

    public static async Task<Outcome> RestoreAsync(PublicationStore store, Publications publications, SourceMounts sources, IMounter mounter, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(publications);
        ArgumentNullException.ThrowIfNull(sources);
        ArgumentNullException.ThrowIfNull(mounter);
        ArgumentNullException.ThrowIfNull(logger);
        var records = store.LoadAll(out var unreadable);
        foreach (var file in unreadable)
        {
            logger.LogWarning("ignoring the unreadable publication record {File}", file);
        }

        int restored = 0, dropped = 0;
        foreach (var record in records)
        {
            if (!mounter.IsMountPoint(record.TargetPath))
            {
                // kubelet unmounted it while we were down, or the publish never got as far as the bind.
                logger.LogInformation("forgetting volume {VolumeId} at {Target}: the target is no longer mounted", record.VolumeId, record.TargetPath);
                store.Delete(record.TargetPath);
                dropped++;
                continue;
            }

            if (await TryRestoreAsync(record, publications, sources, mounter, logger, cancellationToken).ConfigureAwait(false) is { } failure)
            {
                logger.LogError("could not restore volume {VolumeId} at {Target} after the restart: {Error}; the target is detached", record.VolumeId, record.TargetPath, failure);
                Detach(mounter, record.TargetPath);
                store.Delete(record.TargetPath);
                dropped++;
                continue;
            }

            logger.LogInformation("restored volume {VolumeId} (source {Source}) at {Target} after the restart", record.VolumeId, record.Source, record.TargetPath);
            restored++;
        }

        return new Outcome(restored, dropped);
    }

    /// <summary>Null when the target serves the source again; otherwise why not.</summary>
    private static async Task<string?> TryRestoreAsync(Publication record, Publications publications, SourceMounts sources, IMounter mounter, ILogger logger, CancellationToken cancellationToken)
    {
        if (sources.Find(record.Source) is not { } backend)
        {
            return $"data source \"{record.Source}\" is no longer in the node config";
        }

        string? podUid = null;
        if (backend.Auth.Source == Config.AuthSources.Pod)
        {
            // The pod's own mount, without credentials: they lived in the last run's memory only; kubelet's next republish
            // brings the token again (until then its reads of objects not yet checked for it wait, then fail).
            podUid = record.Pod?.Uid;
            if (podUid is null)
            {
                return $"data source \"{record.Source}\" reads with the pod's identity, and the record names no pod";
            }
        }

        try
        {
            await sources.AcquireAsync(backend, record.TargetPath, record.ReadaheadBytes, cancellationToken, podUid).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            return $"mounting data source \"{record.Source}\" failed: {e.Message}";
        }

        try
        {
            if (IsLive(record.TargetPath))
            {
                publications.Add(record); // the source was taken over alive: kubelet's bind still serves it
                return null;
            }

            Detach(mounter, record.TargetPath); // the bind of the dead tree
            if (!Directory.Exists(record.BindSource))
            {
                throw new IOException($"{record.BindSource} is no longer a directory in data source \"{record.Source}\"");
            }

            mounter.BindMountReadOnly(record.BindSource, record.TargetPath);
            publications.Add(record);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await sources.ReleaseAsync(record.Source, record.TargetPath).ConfigureAwait(false);
            logger.LogDebug("released {Source} for {Target}", record.Source, record.TargetPath);
            return e.Message;
        }
    }

    /// <summary>
    /// Whether the target's tree answers: opening it as a directory asks the FUSE server (a dead connection fails with
    /// ENOTCONN), where stat(2) may be answered from the kernel's attribute cache.
    /// </summary>
    private static bool IsLive(string target)
    {
        try
        {
            using var entries = Directory.EnumerateFileSystemEntries(target).GetEnumerator();
            entries.MoveNext();
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void Detach(IMounter mounter, string target)
    {
        for (var i = 0; i < MaxStackedMounts && mounter.IsMountPoint(target); i++)
        {
            mounter.Unmount(target);
        }
    }
}
