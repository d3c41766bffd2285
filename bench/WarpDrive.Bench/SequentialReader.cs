using System.Diagnostics;

namespace WarpDrive.Bench;

/// <summary>K readers share a list of files; each takes the next file and reads it front to back in 1 MiB reads.</summary>
internal static class SequentialReader
{
    public static (double MiBPerSecond, long Bytes, TimeSpan Elapsed) Run(string root, IReadOnlyList<string> files, int readers)
    {
        var next = -1;
        long total = 0;
        var clock = Stopwatch.StartNew();
        var threads = Enumerable.Range(0, readers).Select(_ => new Thread(() =>
        {
            var buffer = new byte[1024 * 1024];
            long mine = 0;
            int index;
            while ((index = Interlocked.Increment(ref next)) < files.Count)
            {
                using var handle = File.OpenHandle(Path.Combine(root, files[index]), FileMode.Open, FileAccess.Read);
                long offset = 0;
                int read;
                while ((read = RandomAccess.Read(handle, buffer, offset)) > 0)
                {
                    offset += read;
                }

                mine += offset;
            }

            Interlocked.Add(ref total, mine);
        })).ToList();
        threads.ForEach(t => t.Start());
        threads.ForEach(t => t.Join());
        clock.Stop();
        return (total / 1048576.0 / clock.Elapsed.TotalSeconds, total, clock.Elapsed);
    }
}
