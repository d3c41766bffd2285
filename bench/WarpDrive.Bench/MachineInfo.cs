using System.Diagnostics;

namespace WarpDrive.Bench;

/// <summary>What the figures were taken on: CPU model, cores, memory, kernel and the disk holding the data and caches.</summary>
internal sealed record MachineInfo(string Cpu, int Cores, string Memory, string Kernel, string Disk)
{
    public static MachineInfo Read(string workDirectory)
    {
        var cpu = File.ReadLines("/proc/cpuinfo").FirstOrDefault(l => l.StartsWith("model name", StringComparison.Ordinal))?.Split(':', 2)[1].Trim() ?? "unknown";
        var memKiB = File.ReadLines("/proc/meminfo").First(l => l.StartsWith("MemTotal:", StringComparison.Ordinal)).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1];
        var kernel = File.ReadAllText("/proc/sys/kernel/osrelease").Trim();
        var disk = Run("findmnt", "-no", "SOURCE,FSTYPE,SIZE", "-T", workDirectory);
        return new MachineInfo(cpu, Environment.ProcessorCount, $"{long.Parse(memKiB) / 1024.0 / 1024.0:F1} GiB", kernel, disk.Length == 0 ? "unknown" : disk);
    }

    private static string Run(string command, params string[] arguments)
    {
        try
        {
            var info = new ProcessStartInfo(command) { RedirectStandardOutput = true, RedirectStandardError = true };
            foreach (var argument in arguments)
            {
                info.ArgumentList.Add(argument);
            }

            using var process = Process.Start(info)!;
            var output = process.StandardOutput.ReadToEnd();
            process.WaitForExit();
            return string.Join(' ', output.Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries));
        }
        catch (System.ComponentModel.Win32Exception)
        {
            return "";
        }
    }
}
