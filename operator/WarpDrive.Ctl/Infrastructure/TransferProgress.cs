using System.Globalization;
using Spectre.Console;

namespace WarpDrive.Ctl.Infrastructure;

/// <summary>A point of a long transfer: files and bytes done out of a total.</summary>
internal sealed record TransferSnapshot(long FilesDone, long FilesTotal, long FilesSkipped, long BytesDone, long BytesTotal, TimeSpan Elapsed)
{
    public double MegabytesPerSecond => Elapsed.TotalSeconds <= 0 ? 0 : BytesDone / 1048576.0 / Elapsed.TotalSeconds;

    public string Line(string verb)
    {
        var eta = BytesDone > 0 && BytesTotal > BytesDone
            ? TimeSpan.FromSeconds((BytesTotal - BytesDone) / (BytesDone / Math.Max(Elapsed.TotalSeconds, 1e-3))).ToString(@"hh\:mm\:ss", CultureInfo.InvariantCulture)
            : "-";
        return $"{verb}: {FilesDone}/{FilesTotal} files ({FilesSkipped} skipped), {Sizes.Format(BytesDone)} of {Sizes.Format(BytesTotal)}, " +
               $"{MegabytesPerSecond.ToString("0.0", CultureInfo.InvariantCulture)} MB/s, ETA {eta}";
    }
}

/// <summary>
/// Shows a transfer while it runs: a live Spectre bar (files, bytes, MB/s, ETA) on a terminal, or one plain line per
/// second on standard error when it is a pipe. Writers call <see cref="Report"/> from any thread; only the latest
/// snapshot matters, so it is a single volatile field and the renderer samples it.
/// </summary>
internal sealed class TransferProgress(Terminal terminal, string verb) : IProgress<TransferSnapshot>
{
    private volatile TransferSnapshot? _latest;

    public void Report(TransferSnapshot value) => _latest = value;

    public async Task<T> RunAsync<T>(Func<Task<T>> work)
    {
        if (terminal.InteractiveError)
        {
            return await terminal.Err.Progress()
                .AutoClear(false)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new DownloadedColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                .StartAsync(async context =>
                {
                    var task = context.AddTask(verb, maxValue: 1);
                    var running = work();
                    while (await Task.WhenAny(running, Task.Delay(200)) != running)
                    {
                        Apply(task);
                    }

                    Apply(task);
                    task.StopTask();
                    return await running;
                });
        }

        var job = work();
        TransferSnapshot? shown = null;
        while (await Task.WhenAny(job, Task.Delay(1000)) != job)
        {
            if (_latest is { } now && now != shown)
            {
                terminal.Note(now.Line(verb));
                shown = now;
            }
        }

        if (_latest is { } last)
        {
            terminal.Note(last.Line(verb));
        }

        return await job;
    }

    private void Apply(ProgressTask task)
    {
        if (_latest is not { } now)
        {
            return;
        }

        task.Description = $"{verb} {now.FilesDone}/{now.FilesTotal} files";
        task.MaxValue = Math.Max(1, now.BytesTotal);
        task.Value = now.BytesDone;
    }
}
