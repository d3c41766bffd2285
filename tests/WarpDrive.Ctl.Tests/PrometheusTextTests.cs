using WarpDrive.Ctl.Infrastructure;

namespace WarpDrive.Ctl.Tests;

public sealed class PrometheusTextTests
{
    [Test]
    public void SumsEachMetricOverItsLabelSets()
    {
        const string Scrape = """
            # HELP warpdrive_cache_hit_total Block reads served from the cache.
            # TYPE warpdrive_cache_hit_total counter
            warpdrive_cache_hit_total{otel_scope_name="WarpDrive.Node"} 1200 1732526400000
            warpdrive_cache_miss_total{otel_scope_name="WarpDrive.Node",note="a } in \"quotes\""} 300
            warpdrive_cache_evictions_total 7
            # TYPE warpdrive_cache_size_bytes gauge
            warpdrive_cache_size_bytes{otel_scope_name="WarpDrive.Node"} 4.194304e+06
            warpdrive_backend_errors_total{backend="a"} 2
            warpdrive_backend_errors_total{backend="b"} 3
            """;

        var sums = PrometheusText.SumByName(Scrape);

        Assert.Multiple(() =>
        {
            Assert.That(sums["warpdrive_cache_hit_total"], Is.EqualTo(1200));
            Assert.That(sums["warpdrive_cache_miss_total"], Is.EqualTo(300));
            Assert.That(sums["warpdrive_cache_evictions_total"], Is.EqualTo(7));
            Assert.That(sums["warpdrive_cache_size_bytes"], Is.EqualTo(4_194_304));
            Assert.That(sums["warpdrive_backend_errors_total"], Is.EqualTo(5));
        });
    }
}
