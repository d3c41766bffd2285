namespace WarpDrive.ControlPlane.Tests;

/// <summary>
/// Not used by the test host. <c>dotnet run --project tests/WarpDrive.ControlPlane.Tests -- --bench [objects] [file] [--postgres]</c>
/// fills a SQLite (or PostgreSQL) store and times the stale and usage queries (see <see cref="StoreBenchmark"/>).
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--bench")
        {
            var postgres = args.Contains("--postgres");
            var rest = args.Skip(1).Where(a => a != "--postgres").ToArray();
            var objects = rest.Length > 0 ? long.Parse(rest[0], System.Globalization.CultureInfo.InvariantCulture) : 10_000_000;
            await StoreBenchmark.RunAsync(objects, rest.Length > 1 ? rest[1] : null, postgres);
            return 0;
        }

        await Console.Error.WriteLineAsync("usage: --bench [objects] [sqlite file] [--postgres]");
        return 2;
    }
}
