namespace WarpDrive.ControlPlane.Tests;

/// <summary>
/// Not used by the test host. <c>dotnet run --project tests/WarpDrive.ControlPlane.Tests -- --bench [objects]</c>
/// fills a SQLite store and times the stale and usage queries (see <see cref="StoreBenchmark"/>).
/// </summary>
public static class Program
{
    public static async Task<int> Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--bench")
        {
            var objects = args.Length > 1 ? long.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 10_000_000;
            await StoreBenchmark.RunAsync(objects, args.Length > 2 ? args[2] : null);
            return 0;
        }

        await Console.Error.WriteLineAsync("usage: --bench [objects] [sqlite file]");
        return 2;
    }
}
